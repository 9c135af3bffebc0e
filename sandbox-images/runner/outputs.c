/* Packs /work/out into a ustar archive for the end of the job (see ../CONTRACT.md, "Output files").
 * It must never follow a symlink, open anything but a regular file, or exceed the caps it is given.
 * It runs only after every other process in the sandbox is dead, so nothing changes under it. */
#define _GNU_SOURCE
#include "outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32

static struct outputs *o;
static int max_files;
static long long max_bytes, data_bytes;
static size_t cap;

static int reserve(size_t n) {
  if (o->tar_len + n <= cap) return 1;
  size_t want = cap ? cap * 2 : 65536;
  while (want < o->tar_len + n) want *= 2;
  char *p = realloc(o->tar, want);
  if (!p) return 0;
  o->tar = p;
  cap = want;
  return 1;
}

/* Appends one header; name is split into ustar prefix/name when longer than 100 bytes. */
static int header(const char *name, char type, unsigned mode, long long size) {
  size_t len = strlen(name), split = 0;
  if (len > 100) {
    for (size_t i = 1; i < len && i <= 155; i++)
      if (name[i] == '/' && len - i - 1 <= 100) { split = i; break; }
    if (!split) return 0;
  }
  if (!reserve(512)) return 0;
  char *h = o->tar + o->tar_len;
  memset(h, 0, 512);
  if (split) {
    memcpy(h + 345, name, split);
    memcpy(h, name + split + 1, len - split - 1);
  } else {
    memcpy(h, name, len);
  }
  snprintf(h + 100, 8, "%07o", mode & 0777);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011llo", size);
  snprintf(h + 136, 12, "%011o", 0);
  memset(h + 148, ' ', 8);
  h[156] = type;
  memcpy(h + 257, "ustar\0" "00", 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  o->tar_len += 512;
  return 1;
}

static void add_file(int dirfd, const char *entry, const char *name, const struct stat *st) {
  if (o->files >= max_files || data_bytes + st->st_size > max_bytes) { o->truncated = 1; return; }
  int fd = openat(dirfd, entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  size_t padded = ((size_t)st->st_size + 511) / 512 * 512;
  if (fd < 0 || !reserve(512 + padded)) { o->skipped++; if (fd >= 0) close(fd); return; }
  size_t mark = o->tar_len;
  if (!header(name, '0', st->st_mode, st->st_size)) { o->skipped++; close(fd); return; }
  char *body = o->tar + o->tar_len;
  size_t got = 0;
  for (ssize_t r; got < (size_t)st->st_size && (r = read(fd, body + got, (size_t)st->st_size - got)) > 0;)
    got += (size_t)r;
  close(fd);
  if (got != (size_t)st->st_size) { o->tar_len = mark; o->skipped++; return; }
  memset(body + got, 0, padded - got);
  o->tar_len += padded;
  o->files++;
  data_bytes += st->st_size;
}

static void walk(int dirfd, const char *prefix, int depth) {
  DIR *d = fdopendir(dirfd);
  if (!d) { close(dirfd); return; }
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char name[4096];
    struct stat st;
    int n = snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
    if (n >= (int)sizeof name - 1 || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      o->skipped++;
    } else if (S_ISREG(st.st_mode)) {
      add_file(dirfd, e->d_name, name, &st);
    } else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
      strcat(name, "/");
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 || !header(name, '5', st.st_mode, 0)) {
        o->skipped++;
        if (sub >= 0) close(sub);
        continue;
      }
      walk(sub, name, depth + 1);
    } else {
      o->skipped++;
    }
  }
  closedir(d);
}

void collect_outputs(const char *dir, int files_cap, long long bytes_cap, struct outputs *out) {
  memset(out, 0, sizeof *out);
  o = out;
  max_files = files_cap;
  max_bytes = bytes_cap;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  walk(fd, "", 0);
  if (o->tar_len == 0) return;
  if (!reserve(1024)) { free(o->tar); memset(out, 0, sizeof *out); o->skipped++; return; }
  memset(o->tar + o->tar_len, 0, 1024);
  o->tar_len += 1024;
}
