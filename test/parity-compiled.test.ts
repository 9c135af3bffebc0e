// Parity of ordinary compiled programs on runc and runsc: C from the shipped `gcc` template (built here first
// when missing), through the real REST API, against exact expected output like the interpreted rows of
// parity-programs.test.ts and parity-output.test.ts: a directory listing through opendir/readdir/lstat, one
// 200 KB write to stdout and one to stderr, multi-byte text (a character split across two writes), stdin echoed
// byte for byte, exit codes, and death by signal. Every case also compiled cleanly (result.compile) on each.
// Never relaxes a comparison: each backend's result must equal the one expected, so the two equal each other.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONTAINER_BACKENDS } from '@airlock/sandbox';
import { beforeAll, describe, expect, it } from 'vitest';
import { useContainerService } from './support/containers.ts';
import { runExecution, runs, summary } from './support/parity.ts';

const SLOW = 300_000;
const REPO = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => {
  // Cached by input hash: a no-op when setup-host.sh (or an earlier run) built it.
  execFileSync(process.execPath, [`${REPO}shared/sandbox/src/templates/templates-cli.ts`, 'build', 'gcc'], {
    stdio: 'ignore',
    timeout: 900_000,
  });
}, 900_000);

// A warm gcc container per backend: the pooled path (compile and program as two jobs of its runner) is the one compared.
const service = useContainerService({ AIRLOCK_CONCURRENCY: '3', AIRLOCK_TEMPLATE_POOLS: 'gcc=1' });

/** ls-like: names sorted, type, permission bits and size of each entry, through the C library's own calls. */
const LISTING = `#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list(const char *path, int details) {
  DIR *dir = opendir(path);
  if (!dir) { perror(path); exit(2); }
  char *names[64];
  int n = 0;
  for (struct dirent *e; (e = readdir(dir)) && n < 64;)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, n, sizeof *names, by_name);
  printf("%s:\\n", path);
  for (int i = 0; i < n; i++) {
    char full[512];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", path, names[i]);
    if (lstat(full, &st) != 0) { perror(full); exit(2); }
    char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? '-' : '?';
    if (details) printf("%c %04o %lld %s\\n", type, st.st_mode & 07777, S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL, names[i]);
    else printf("%c %s\\n", type, names[i]);
  }
}
int main(void) {
  if (mkdir("d", 0755) || mkdir("d/sub", 0755)) { perror("mkdir"); return 2; }
  FILE *f = fopen("d/a.txt", "w");
  fputs("abc", f);
  fclose(f);
  f = fopen("d/sub/b.txt", "w");
  fputs("hello\\n", f);
  fclose(f);
  chmod("d/sub/b.txt", 0640);
  list(".", 0);
  list("d", 1);
  list("d/sub", 1);
  return 0;
}
`;
const LISTING_EXPECTED = `.:
d d
- main
- main.c
d out
d:
- 0644 3 a.txt
d 0755 0 sub
d/sub:
- 0640 6 b.txt
`;

const BIG = 200_000;
/** One write(2) call of 200 KB to stdout, then one to stderr. */
const SINGLE_WRITES = `#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  size_t n = ${BIG};
  char *b = malloc(n);
  memset(b, 'a', n - 1);
  b[n - 1] = '\\n';
  if (write(1, b, n) != (ssize_t)n) return 2;
  memset(b, 'z', n - 1);
  if (write(2, b, n) != (ssize_t)n) return 3;
  return 0;
}
`;

const TEXT = 'ünïcödé ✓ 😀 — 日本語';
/** Multi-byte text in one write, then one four-byte character split across two writes. */
const UNICODE = `#include <stdio.h>
#include <unistd.h>
int main(void) {
  puts("${TEXT}");
  fflush(stdout);
  const char *emoji = "😀\\n";
  write(1, "split ", 6);
  write(1, emoji, 2);
  usleep(50000);
  write(1, emoji + 2, 3);
  return 0;
}
`;

const STDIN = `first line\n${'ünïcödé ✓ 😀 '.repeat(20_000)}\nno newline at the end`;
const ECHO_STDIN = `#include <stdio.h>
int main(void) {
  char buf[65536];
  size_t r;
  while ((r = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, r, stdout);
  putchar('\\n');
  return 0;
}
`;

const EXIT = (code: number) => `#include <stdio.h>\nint main(void) { puts("bye"); return ${code}; }\n`;
const SIGNAL = (name: string) =>
  `#include <signal.h>\n#include <stdio.h>\nint main(void) { puts("before"); fflush(stdout); raise(${name}); puts("after"); return 0; }\n`;

describe('compiled programs (C, gcc template): parity on runc and runsc', () => {
  const job = (backend: string, code: string, extra: Record<string, unknown> = {}) =>
    runExecution(
      service().url,
      {
        language: 'c',
        backend,
        code,
        // A generous compile limit: this machine may be loaded; the compile's own limit is tested elsewhere.
        limits: { wall_time_ms: 60_000, compile_wall_time_ms: 120_000 },
        ...extra,
      },
      280,
    );
  /** Runs `code` on every backend; each compiled cleanly, and each result is the one expected. */
  const expectEverywhere = async (
    code: string,
    expected: ReturnType<typeof summary>,
    extra: Record<string, unknown> = {},
  ) => {
    const executions = await Promise.all(CONTAINER_BACKENDS.map((backend) => job(backend, code, extra)));
    executions.forEach((execution, i) => {
      const backend = CONTAINER_BACKENDS[i]!;
      expect(execution.result.compile, backend).toMatchObject({ exit_code: 0, stdout: '', stderr: '' });
      expect(summary(execution.result), backend).toEqual(expected);
    });
  };
  const success = (stdout: string, stderr = '') => ({
    outcome: 'success',
    exit_code: 0,
    signal: null,
    stdout: runs(stdout),
    stderr: runs(stderr),
    truncated: { stdout: false, stderr: false },
    reason: null,
  });

  it(
    'a directory listing through opendir, readdir and lstat: names, types, modes and sizes alike',
    () => expectEverywhere(LISTING, success(LISTING_EXPECTED)),
    SLOW,
  );

  it(
    'one 200 KB write to stdout and one to stderr arrive whole',
    () => expectEverywhere(SINGLE_WRITES, success(`${'a'.repeat(BIG - 1)}\n`, `${'z'.repeat(BIG - 1)}\n`)),
    SLOW,
  );

  it(
    'multi-byte text, and a character split across two writes, arrive as written',
    () => expectEverywhere(UNICODE, success(`${TEXT}\nsplit 😀\n`)),
    SLOW,
  );

  it(
    'stdin (multi-byte text, no final newline) reaches the program byte for byte',
    () => expectEverywhere(ECHO_STDIN, success(`${STDIN}\n`), { stdin: STDIN }),
    SLOW,
  );

  it.each([0, 1, 3, 255])(
    'exit code %i comes back as it is',
    (code) =>
      expectEverywhere(EXIT(code), {
        ...success('bye\n'),
        outcome: code === 0 ? 'success' : 'error',
        exit_code: code,
      }),
    SLOW,
  );

  it.each(['SIGTERM', 'SIGKILL', 'SIGSEGV'])(
    'death by %s: outcome error, the signal named, the output before it kept',
    (name) =>
      expectEverywhere(SIGNAL(name), {
        ...success('before\n'),
        outcome: 'error',
        exit_code: null,
        signal: name,
      }),
    SLOW,
  );
});
