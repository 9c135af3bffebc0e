/* Pre-started interpreter (image contract, see ../CONTRACT.md): an image may ship
 *   /opt/airlock/prestart.argv    NUL-separated argv of an interpreter that waits for one job on fd 3, and
 *   /opt/airlock/prestart.serves  the NUL-separated argv prefix it stands in for (e.g. `python3 -I -u`).
 * The runner starts it before the job arrives (stdin = the job's stdin memfd, still empty; stdout and stderr =
 * the runner's output pipes, as for any program; own session), so a warm container already has its interpreter
 * up. When the job's argv starts with the served prefix, the runner writes "<n>\0NAME=VALUE\0…(n times)ARG\0ARG\0…"
 * (the env assignments and the rest of argv: script and args) to fd 3 and closes it; the interpreter applies
 * them and runs the script itself. Any other job gets a fresh exec and the interpreter is killed first. It is
 * started after the runner became non-dumpable and never sees the nonce (read later, kept in the runner's memory
 * only). */
#define _GNU_SOURCE
#include "prestart.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PRESTART_ARGV "/opt/airlock/prestart.argv"
#define PRESTART_SERVES "/opt/airlock/prestart.serves"
#define MAX_PRESTART_BYTES 4096
#define MAX_PRESTART_ARGS 32

static pid_t interpreter;
static int control = -1;
static char serves[MAX_PRESTART_BYTES + 1];
static size_t serves_len;
static long long startup_cpu_ms;

static ssize_t read_small_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  size_t got = 0;
  for (ssize_t r; got < cap && (r = read(fd, buf + got, cap - got)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  return got == cap ? -1 : (ssize_t)got;
}

/* Splits a NUL-separated list in place (trailing NUL optional). Returns the count, or -1 if too many. */
static int split_nul(char *buf, size_t len, char **out, int cap) {
  int n = 0;
  if (len > 0 && buf[len - 1] == '\0') len--;
  buf[len] = '\0';
  for (size_t i = 0; len > 0 && i <= len; i += strlen(buf + i) + 1) {
    if (n >= cap) return -1;
    out[n++] = buf + i;
  }
  out[n] = NULL;
  return n;
}

static int move_fd(int from, int to) {
  if (from == to) return fcntl(to, F_SETFD, 0);
  return dup2(from, to) < 0 ? -1 : 0;
}

void prestart_start(int stdin_fd, const int output[2]) {
  static char argv_buf[MAX_PRESTART_BYTES + 1];
  char *args[MAX_PRESTART_ARGS + 1];
  ssize_t argv_len = read_small_file(PRESTART_ARGV, argv_buf, MAX_PRESTART_BYTES);
  ssize_t len = read_small_file(PRESTART_SERVES, serves, MAX_PRESTART_BYTES);
  if (argv_len <= 0 || len <= 0) return;
  serves_len = (size_t)len;
  if (split_nul(argv_buf, (size_t)argv_len, args, MAX_PRESTART_ARGS) <= 0) return;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) return;
  pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    setsid();
    if (pipe_fds[0] == 0) { /* keep the control pipe out of the way of stdin */
      int moved = fcntl(pipe_fds[0], F_DUPFD_CLOEXEC, 4);
      if (moved < 0) _exit(127);
      pipe_fds[0] = moved;
    }
    if (dup2(stdin_fd, 0) < 0 || dup2(output[0], 1) < 0 || dup2(output[1], 2) < 0 ||
        move_fd(pipe_fds[0], 3) < 0)
      _exit(127);
    execvp(args[0], args);
    _exit(127);
  }
  close(pipe_fds[0]);
  control = pipe_fds[1];
  interpreter = pid;
}

void prestart_discard(void) {
  if (interpreter > 0) {
    kill(interpreter, SIGKILL);
    while (waitpid(interpreter, NULL, 0) < 0 && errno == EINTR) {}
  }
  if (control >= 0) close(control);
  interpreter = 0;
  control = -1;
}

static long long process_cpu_ms(pid_t pid) {
  char path[64], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small_file(path, stat, sizeof stat - 1) <= 0) return 0;
  char *p = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
  unsigned long long utime = 0, stime = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return 0;
  long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? (long long)((utime + stime) * 1000ULL / (unsigned long long)ticks) : 0;
}

long long prestart_startup_cpu_ms(void) { return startup_cpu_ms; }

void limit_cpu(pid_t pid, long long limit_ms, long long used_ms) {
  if (limit_ms <= 0) return;
  rlim_t seconds = (rlim_t)((used_ms + limit_ms + 999) / 1000);
  struct rlimit limit = {seconds, seconds + 1};
  prlimit(pid, RLIMIT_CPU, &limit, NULL);
}

/* Variables the interpreter has already read while starting: a job that sets one gets a fresh exec. */
static int startup_variable(const char *assignment) {
  static const char *const names[] = {"LANG", "LANGUAGE", "TZ", NULL};
  size_t len = strcspn(assignment, "=");
  if (len >= 3 && strncmp(assignment, "LC_", 3) == 0) return 1;
  for (int i = 0; names[i]; i++)
    if (strlen(names[i]) == len && strncmp(assignment, names[i], len) == 0) return 1;
  return 0;
}

static int write_all_fd(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

pid_t prestart_take(char **args, long long cpu_limit_ms) {
  if (interpreter <= 0) return 0;
  int first_env = 0, program = 0;
  if (args[0] && strcmp(args[0], "env") == 0 && args[1] && strcmp(args[1], "--") == 0) {
    first_env = program = 2;
    while (args[program] && strchr(args[program], '=')) {
      if (startup_variable(args[program])) goto fresh;
      program++;
    }
  }
  int at = program;
  for (size_t i = 0; i < serves_len; i += strlen(serves + i) + 1, at++)
    if (!args[at] || strcmp(args[at], serves + i) != 0) goto fresh;
  if (!args[at]) goto fresh;
  if (waitpid(interpreter, NULL, WNOHANG) != 0) { /* it died while waiting: start the job afresh */
    interpreter = 0;
    goto fresh;
  }
  startup_cpu_ms = process_cpu_ms(interpreter);
  limit_cpu(interpreter, cpu_limit_ms, startup_cpu_ms);
  char count[24];
  int n = snprintf(count, sizeof count, "%d", program - first_env);
  if (write_all_fd(control, count, (size_t)n + 1) < 0) goto fresh;
  for (int i = first_env; i < program; i++)
    if (write_all_fd(control, args[i], strlen(args[i]) + 1) < 0) goto fresh;
  for (int i = at; args[i]; i++)
    if (write_all_fd(control, args[i], strlen(args[i]) + 1) < 0) goto fresh;
  close(control);
  control = -1;
  return interpreter;
fresh:
  startup_cpu_ms = 0;
  prestart_discard();
  return 0;
}
