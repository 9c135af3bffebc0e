/* statx fallback, loaded into every dynamically linked program of the sandbox images through /etc/ld.so.preload
 * (see ../CONTRACT.md, "File-system calls under gVisor"). runsc 0.0~20221219 answers statx with EINVAL when
 * AT_NO_AUTOMOUNT is set, the flag coreutils 9 always passes (`ls -l`, `ls DIR`, `stat` fail). The flag only
 * keeps an automount point from being mounted, and a sandbox has none, so a call refused for it is made again
 * without it. Under runc the first call succeeds and nothing else happens.
 * It must never change a call the kernel accepted, never retry for any other error, and do nothing the program
 * could not do itself: it runs as the program, inside the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask, struct statx *restrict buf) {
  long r = syscall(SYS_statx, dirfd, path, flags, mask, buf);
  if (r < 0 && errno == EINVAL && (flags & AT_NO_AUTOMOUNT))
    r = syscall(SYS_statx, dirfd, path, flags & ~AT_NO_AUTOMOUNT, mask, buf);
  return (int)r;
}
