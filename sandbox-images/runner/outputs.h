/* Output files: /work/out packed into an in-memory ustar archive after the program and its children are dead. */
#ifndef AIRLOCK_OUTPUTS_H
#define AIRLOCK_OUTPUTS_H
#include <stddef.h>

struct outputs {
  char *tar;           /* the archive (NULL when empty), ends with two zero blocks */
  size_t tar_len;
  int files;           /* regular files packed */
  int skipped;         /* symlinks, FIFOs, devices, sockets, unreadable files, names too long for ustar */
  int truncated;       /* 1 when max_files or max_bytes stopped the walk */
};

/* Packs regular files and directories under dir (relative names, never following links). */
void collect_outputs(const char *dir, int max_files, long long max_bytes, struct outputs *out);
#endif
