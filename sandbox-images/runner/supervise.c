/* Supervision of the job's program (see ../CONTRACT.md, "What the runner does"): the pipes its stdout and stderr
 * go through and the relay of those bytes to the container's own stdout and stderr, waiting for it while reaping
 * every orphan, killing whatever it left, and the job's wall-clock deadline.
 * Why a relay and not the container's streams themselves: under gVisor (runsc 2022) a write to the container's
 * stdio, a host pipe, returns short with as much as the host pipe had room for (64 KiB), and a program that does
 * not loop on short writes (python -u, any single write(2)) loses the rest without knowing. A pipe inside the
 * sandbox blocks until every byte is taken, as Linux does; the runner loops on short writes to the host pipe.
 * It must never drop a byte the program wrote, never leave a process alive after the job, and never outlive the
 * deadline: at it, every process is killed and the runner exits, whatever it was doing. */
#define _GNU_SOURCE
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_ROUNDS 200

static int read_ends[2] = {-1, -1};
static int write_ends_kept[2] = {-1, -1};

int output_pipes(int write_ends[2]) {
  for (int i = 0; i < 2; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    /* Neither end may land on fd 0..2: children move the write ends there. */
    for (int e = 0; e < 2; e++) {
      if (p[e] > 2) continue;
      int moved = fcntl(p[e], F_DUPFD_CLOEXEC, 3);
      if (moved < 0) return -1;
      close(p[e]);
      p[e] = moved;
    }
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    read_ends[i] = p[0];
    write_ends[i] = write_ends_kept[i] = p[1];
  }
  return 0;
}

void close_output_writers(void) {
  for (int i = 0; i < 2; i++) {
    if (write_ends_kept[i] >= 0) close(write_ends_kept[i]);
    write_ends_kept[i] = -1;
  }
}

/* Only the kernel's timer counts: a job (same uid) can send the runner SIGALRM itself. */
static void on_deadline(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  if (info->si_code <= 0) return;
  kill(-1, SIGKILL);
  _exit(EXIT_DEADLINE);
}

void arm_deadline(long long wall_ms) {
  if (wall_ms <= 0) {
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_deadline;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  long long ms = wall_ms + WALL_MARGIN_MS;
  struct itimerval at = {{0, 0}, {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &at, NULL);
}

static int others_alive(void) {
  DIR *d = opendir("/proc");
  int found = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d)) && !found;) {
    long pid = strtol(e->d_name, NULL, 10);
    found = pid > 1 && pid != getpid();
  }
  closedir(d);
  return found;
}

void kill_everything(void) {
  for (int round = 0; round < KILL_ROUNDS; round++) {
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
    if (!others_alive()) return;
    usleep(round < 20 ? 1000 : 10000);
  }
}

void write_stream(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (w < 0) return;
    buf += w;
    n -= (size_t)w;
  }
}

/* Moves what one pipe holds now to its container stream. Returns 0 once the pipe has ended. */
static int relay_once(int stream) {
  static char buf[65536];
  for (;;) {
    ssize_t r = read(read_ends[stream], buf, sizeof buf);
    if (r > 0) {
      write_stream(stream + 1, buf, (size_t)r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 1;
    close(read_ends[stream]);
    read_ends[stream] = -1;
    return 0;
  }
}

static void on_child(int sig) { (void)sig; }

int supervise(pid_t program) {
  sigset_t chld, wait_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &wait_mask);
  sigdelset(&wait_mask, SIGCHLD);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_child; /* only to interrupt ppoll: SIGCHLD is blocked everywhere else */
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);

  int status = 0, ended = 0;
  for (;;) {
    int st;
    for (pid_t pid; (pid = waitpid(-1, &st, WNOHANG)) > 0;) {
      if (pid != program) continue;
      status = st;
      ended = 1;
    }
    if (ended) break;
    struct pollfd fds[2];
    int n = 0, stream_of[2];
    for (int i = 0; i < 2; i++) {
      if (read_ends[i] < 0) continue;
      fds[n] = (struct pollfd){read_ends[i], POLLIN, 0};
      stream_of[n++] = i;
    }
    if (ppoll(fds, (nfds_t)n, NULL, &wait_mask) < 0) continue;
    for (int i = 0; i < n; i++)
      if (fds[i].revents) relay_once(stream_of[i]);
  }
  kill_everything();
  /* Every writer is dead now: what is left in the pipes is the rest of the program's output. */
  for (int i = 0; i < 2; i++) {
    if (read_ends[i] < 0) continue;
    fcntl(read_ends[i], F_SETFL, fcntl(read_ends[i], F_GETFL) & ~O_NONBLOCK);
    while (relay_once(i)) {}
  }
  return status;
}
