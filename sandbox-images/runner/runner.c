/* Airlock in-sandbox runner: /opt/airlock/runner, the command and init process (pid 1) of every sandbox container.
 * Reads ONE job (a ustar archive) from stdin, extracts work/ into /work, runs meta/argv with meta/stdin as its
 * stdin, kills every process left behind, and reports through an end marker carrying meta/nonce. A job that
 * carries meta/next (a template's compile step) is followed by one more job on the same stream, read only
 * after every process of the first was killed: the program, in the same /work.
 * An image may name a pre-started interpreter (prestart.c): it is started before the job arrives and runs the
 * job's program itself, so the interpreter's start-up is off the job's path. The program's output goes through
 * pipes the runner relays, and its wall clock is enforced here too (supervise.c).
 * It must never write the nonce anywhere the program can read, never follow or create links, devices or paths
 * outside /work, and never let the program read the rest of the attach stream. See ../CONTRACT.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outputs.h"
#include "prestart.h"
#include "supervise.h"

#define WORK_DIR "/work"
#define MAX_ENTRIES 10000
#define MAX_ARCHIVE_BYTES (1024LL * 1024 * 1024)
#define MAX_ARGV_BYTES (256 * 1024)
#define MAX_ARGS 4096
#define MAX_NONCE_BYTES 128
#define MAX_STDIN_BYTES (256LL * 1024 * 1024)
#define OUT_DIR "out"

static char argv_buf[MAX_ARGV_BYTES + 1];
static size_t argv_len;
static char nonce[MAX_NONCE_BYTES + 1];
static long long archive_bytes;
static long long cpu_limit_ms; /* meta/cpu_ms: 0 = none */
static long long wall_limit_ms; /* meta/wall_ms: 0 = none */
static int out_max_files = 256;
static long long out_max_bytes = 16LL * 1024 * 1024;
static int next_job; /* meta/next: another job follows this one on the job stream */
/* The job stream (the attach stream, fd 0 at start): moved off fd 0, close-on-exec, before any program runs. */
static int job_fd = 0;

static void reject(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "\n\x1e" "AIRLOCK-REJECTED %s\n", msg);
  prestart_discard();
  _exit(2);
}

static void read_exact(void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(job_fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) reject("read stdin: %s", strerror(errno));
    if (r == 0) reject("stdin ended inside the archive");
    got += (size_t)r;
  }
  archive_bytes += (long long)n;
  if (archive_bytes > MAX_ARCHIVE_BYTES) reject("archive larger than %lld bytes", MAX_ARCHIVE_BYTES);
}

static long long octal_field(const char *f, size_t len) {
  long long v = 0;
  size_t i = 0;
  while (i < len && f[i] == ' ') i++;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) v = v * 8 + (f[i] - '0');
  if (i < len && f[i] != ' ' && f[i] != '\0') reject("bad octal field in tar header");
  return v;
}

static int header_checksum_ok(const unsigned char *h) {
  long long want = octal_field((const char *)h + 148, 8), sum = 0;
  for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == want;
}

/* Normalises "a/./b//c" into out; rejects absolute paths and "..". Returns the length (0 for the root). */
static size_t clean_path(const char *in, char *out, size_t cap) {
  size_t o = 0;
  if (in[0] == '/') reject("absolute path in archive: %s", in);
  for (const char *p = in; *p;) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') reject("'..' in archive path: %s", in);
    if (n > 0 && !(n == 1 && p[0] == '.')) {
      if (o + n + 2 > cap) reject("archive path too long: %s", in);
      if (o > 0) out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p = end ? end + 1 : p + n;
  }
  out[o] = '\0';
  return o;
}

/* mkdir -p for the parents of rel (relative to /work; every component already checked by clean_path). */
static void make_parents(char *rel) {
  for (char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    if (mkdirat(AT_FDCWD, rel, 0755) < 0 && errno != EEXIST) reject("mkdir %s: %s", rel, strerror(errno));
    *s = '/';
  }
}

/* Streams size bytes (plus padding) from stdin to fd, or into mem when fd < 0. */
static void copy_body(long long size, int fd, char *mem) {
  char buf[65536];
  long long left = size, padded = (size + 511) / 512 * 512;
  while (padded > 0) {
    size_t n = padded > (long long)sizeof buf ? sizeof buf : (size_t)padded;
    read_exact(buf, n);
    size_t data = left > (long long)n ? n : (size_t)left;
    if (fd >= 0 && data > 0) {
      for (size_t off = 0; off < data;) {
        ssize_t w = write(fd, buf + off, data - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) reject("write: %s", strerror(errno));
        off += (size_t)w;
      }
    } else if (mem && data > 0) {
      memcpy(mem, buf, data);
      mem += data;
    }
    left -= (long long)data;
    padded -= (long long)n;
  }
}

static void read_meta(const char *name, long long size, int stdin_fd) {
  if (strcmp(name, "argv") == 0) {
    if (size > MAX_ARGV_BYTES) reject("meta/argv larger than %d bytes", MAX_ARGV_BYTES);
    copy_body(size, -1, argv_buf);
    argv_len = (size_t)size;
  } else if (strcmp(name, "nonce") == 0) {
    if (size < 16 || size > MAX_NONCE_BYTES) reject("meta/nonce must be 16..%d bytes", MAX_NONCE_BYTES);
    memset(nonce, 0, sizeof nonce);
    copy_body(size, -1, nonce);
    for (long long i = 0; i < size; i++)
      if (!strchr("0123456789abcdefABCDEF", nonce[i]) || nonce[i] == '\0') reject("meta/nonce is not hex");
  } else if (strcmp(name, "stdin") == 0) {
    if (size > MAX_STDIN_BYTES) reject("meta/stdin larger than %lld bytes", MAX_STDIN_BYTES);
    copy_body(size, stdin_fd, NULL);
  } else if (strcmp(name, "cpu_ms") == 0 || strcmp(name, "wall_ms") == 0) {
    char text[32] = {0};
    long long *limit = name[0] == 'c' ? &cpu_limit_ms : &wall_limit_ms;
    if (size >= (long long)sizeof text) reject("meta/%s too long", name);
    copy_body(size, -1, text);
    if (sscanf(text, "%lld", limit) != 1 || *limit < 0 || *limit > 7LL * 24 * 3600 * 1000)
      reject("meta/%s must be a number of milliseconds", name);
  } else if (strcmp(name, "next") == 0) {
    if (size != 0) reject("meta/next must be empty");
    next_job = 1;
  } else if (strcmp(name, "outputs") == 0) {
    char text[64] = {0};
    if (size >= (long long)sizeof text) reject("meta/outputs too long");
    copy_body(size, -1, text);
    if (sscanf(text, "%d %lld", &out_max_files, &out_max_bytes) != 2 || out_max_files < 0 || out_max_bytes < 0)
      reject("meta/outputs must be \"<max_files> <max_bytes>\"");
  } else {
    reject("unknown meta file: meta/%s", name);
  }
}

/* Reads the whole archive up to its end-of-archive blocks; fills argv_buf, nonce, stdin_fd and /work. */
static void read_job(int stdin_fd) {
  unsigned char h[512];
  char raw[257], path[300];
  for (int entries = 0;; entries++) {
    read_exact(h, 512);
    int zero = 1;
    for (int i = 0; i < 512 && zero; i++) zero = h[i] == 0;
    if (zero) {
      read_exact(h, 512); /* the second zero block; trailing record padding stays unread */
      return;
    }
    if (entries >= MAX_ENTRIES) reject("more than %d archive entries", MAX_ENTRIES);
    if (memcmp(h + 257, "ustar", 5) != 0) reject("not a ustar archive");
    if (!header_checksum_ok(h)) reject("bad tar header checksum");
    size_t plen = strnlen((char *)h + 345, 155), nlen = strnlen((char *)h, 100);
    size_t rlen = 0;
    if (plen > 0) {
      memcpy(raw, h + 345, plen);
      raw[plen] = '/';
      rlen = plen + 1;
    }
    memcpy(raw + rlen, h, nlen);
    raw[rlen + nlen] = '\0';
    if (h[156] == 'L' || h[156] == 'x' || h[156] == 'g') reject("long-name/pax entries are not supported");
    long long size = octal_field((char *)h + 124, 12);
    char type = (char)h[156];
    size_t len = clean_path(raw, path, sizeof path);
    int is_dir = type == '5', is_file = type == '0' || type == '\0';
    if (!is_dir && !is_file) reject("entry %s: only regular files and directories are allowed", raw);
    if (is_dir && size != 0) reject("directory entry with data: %s", raw);
    if (len == 0 || strcmp(path, "meta") == 0 || strcmp(path, "work") == 0) {
      if (!is_dir) reject("%s must be a directory", raw);
    } else if (strncmp(path, "meta/", 5) == 0) {
      if (!is_file || strchr(path + 5, '/')) reject("meta/ holds only argv, stdin, nonce: %s", raw);
      read_meta(path + 5, size, stdin_fd);
    } else if (strncmp(path, "work/", 5) == 0) {
      char *rel = path + 5;
      int mode = (int)(octal_field((char *)h + 100, 8) & 0755);
      make_parents(rel);
      if (is_dir) {
        if (mkdir(rel, (mode_t)(mode | 0700)) < 0 && errno != EEXIST) reject("mkdir %s: %s", rel, strerror(errno));
        continue;
      }
      int fd = open(rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)(mode | 0600));
      if (fd < 0) reject("create %s: %s", rel, strerror(errno));
      copy_body(size, fd, NULL);
      close(fd);
    } else {
      reject("entry outside meta/ and work/: %s", raw);
    }
  }
}

static void on_shielded(int sig) { (void)sig; }

/* Under gVisor pid 1 gets no protection from signals of its own sandbox: every signal a program of the same uid
 * could end or stop us with gets a handler that does nothing (a handler, not SIG_IGN: exec resets it, so the
 * program starts with the default). SIGKILL and SIGSTOP cannot be caught; the backend judges those. */
static void shield_signals(void) {
  static const int shielded[] = {SIGHUP,  SIGINT,    SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGTRAP, SIGABRT,
                                 SIGTSTP, SIGTTIN,   SIGTTOU, SIGPROF, SIGVTALRM, SIGPOLL, SIGSYS, SIGPWR,
                                 SIGURG,  SIGWINCH, SIGSTKFLT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_shielded;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof shielded / sizeof shielded[0]; i++) sigaction(shielded[i], &sa, NULL);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) sigaction(sig, &sa, NULL);
}

/* Reads one job from job_fd and runs it to its end markers. cpu_before_ms: CPU of earlier jobs' programs (the
 * children's usage is cumulative). Returns that CPU including this job's. Only the first job may be handed to
 * the pre-started interpreter. */
static long long run_job(int first, long long cpu_before_ms) {
  argv_len = 0;
  memset(nonce, 0, sizeof nonce);
  archive_bytes = 0;
  cpu_limit_ms = wall_limit_ms = 0;
  out_max_files = 256;
  out_max_bytes = 16LL * 1024 * 1024;
  next_job = 0;
  int stdin_fd = memfd_create("airlock-stdin", MFD_CLOEXEC);
  if (stdin_fd < 0) reject("memfd_create: %s", strerror(errno));
  int output[2];
  if (output_pipes(output) < 0) reject("output pipes: %s", strerror(errno));
  if (first) prestart_start(stdin_fd, output);

  read_job(stdin_fd);
  if (nonce[0] == '\0') reject("meta/nonce missing");

  char *args[MAX_ARGS + 1];
  int argc = 0;
  if (argv_len > 0 && argv_buf[argv_len - 1] == '\0') argv_len--;
  argv_buf[argv_len] = '\0';
  for (size_t i = 0; argv_len > 0 && i <= argv_len; i += strlen(argv_buf + i) + 1) {
    if (argc >= MAX_ARGS) reject("more than %d arguments", MAX_ARGS);
    args[argc++] = argv_buf + i;
  }
  args[argc] = NULL;
  if (argc == 0 || args[0][0] == '\0') reject("meta/argv missing or empty");
  lseek(stdin_fd, 0, SEEK_SET);
  if (mkdir(OUT_DIR, 0755) < 0 && errno != EEXIST) reject("mkdir %s: %s", OUT_DIR, strerror(errno));

  arm_deadline(wall_limit_ms);
  pid_t child = prestart_take(args, cpu_limit_ms);
  if (child <= 0) child = fork();
  if (child < 0) reject("fork: %s", strerror(errno));
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL); /* SIG_IGN would survive exec */
    signal(SIGXFSZ, SIG_DFL);
    setsid();
    explicit_bzero(nonce, sizeof nonce); /* exec replaces this memory anyway; belt and braces */
    if (dup2(stdin_fd, 0) < 0 || dup2(output[0], 1) < 0 || dup2(output[1], 2) < 0) _exit(127);
    limit_cpu(0, cpu_limit_ms, 0);
    execvp(args[0], args);
    dprintf(2, "airlock-runner: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(stdin_fd);
  close_output_writers();
  int status = supervise(child);

  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  long long cpu_total_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
                           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000 - prestart_startup_cpu_ms();
  long long cpu_ms = cpu_total_ms - cpu_before_ms;
  if (cpu_ms < 0) cpu_ms = 0;
  char exit_s[16] = "-", signal_s[32] = "-";
  if (WIFEXITED(status)) snprintf(exit_s, sizeof exit_s, "%d", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    if (abbrev) snprintf(signal_s, sizeof signal_s, "SIG%s", abbrev);
    else snprintf(signal_s, sizeof signal_s, "%d", WTERMSIG(status));
  }

  struct outputs out;
  collect_outputs(OUT_DIR, out_max_files, out_max_bytes, &out);
  char line[512];
  int n = snprintf(line, sizeof line, "\n\x1e" "AIRLOCK-END %s out_tar=%zu\n", nonce, out.tar_len);
  write_stream(1, line, (size_t)n);
  write_stream(1, out.tar, out.tar_len);
  /* maxrss_kb is the largest of every program so far (a compile step's included): RUSAGE_CHILDREN cannot be
   * reset. The backend takes peak memory from the container's cgroup, which the compile step shares anyway. */
  n = snprintf(line, sizeof line,
               "\n\x1e" "AIRLOCK-END %s exit=%s signal=%s cpu_ms=%lld maxrss_kb=%ld out_files=%d out_skipped=%d"
               " out_truncated=%d\n",
               nonce, exit_s, signal_s, cpu_ms, ru.ru_maxrss, out.files, out.skipped, out.truncated);
  write_stream(2, line, (size_t)n);
  return cpu_total_ms < cpu_before_ms ? cpu_before_ms : cpu_total_ms;
}

int main(void) {
  /* Not dumpable: a program of the same uid cannot ptrace us or read /proc/<runner>/mem (the nonce). */
  prctl(PR_SET_DUMPABLE, 0);
  /* As pid 1 (the container's init) every orphan is ours anyway; elsewhere (tests) become their subreaper. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN); /* a job file over --ulimit fsize must give EFBIG (a rejected job), not kill us */
  shield_signals();
  if (chdir(WORK_DIR) < 0) reject("chdir %s: %s", WORK_DIR, strerror(errno));
  /* The job stream leaves fd 0 before anything runs: a program's fd 0 is its memfd, and it inherits nothing of
   * the stream (close-on-exec). The runner's own fd 0 is /dev/null. */
  job_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (job_fd < 0 || devnull < 0 || dup2(devnull, 0) < 0) reject("cannot move the job stream off fd 0");
  close(devnull);

  long long cpu_ms = run_job(1, 0);
  /* Only after every process of the job was killed and its markers written is the next job read (the
   * backend writes it only after it saw those markers). The deadline is the next job's, armed once it is read. */
  while (next_job) {
    arm_deadline(0);
    cpu_ms = run_job(0, cpu_ms);
  }
  return 0;
}
