// Compiled languages through the REST API of the real service on docker (runc) and gvisor (runsc): C and C++
// from the shipped `gcc` template (built here first when missing, from the Debian mirror), with the compile step
// reported as result.compile and its own outcome compile_error; a runtime error, a timeout, a memory bomb and a
// fork bomb in a compiled program; a compile that never ends (compile_wall_time_ms) and one that writes a huge
// object file (tmpfs bound); a program that tries to overwrite the compiler and the runner (read-only root);
// expected_output; the hardened flags of the template's containers; and the coded refusals.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ContainerSandbox } from '@airlock/sandbox';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type ContainerBackend, useContainerService } from './support/containers.ts';
import { call, run } from './support/service.ts';

const SLOW = 180_000;
const REPO = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => {
  // Cached by input hash: a no-op when setup-host.sh (or an earlier run) built them.
  execFileSync(
    process.execPath,
    [`${REPO}shared/sandbox/src/templates/templates-cli.ts`, 'build', ...Object.keys(TEMPLATE_OF)],
    {
      stdio: 'ignore',
      timeout: 900_000,
    },
  );
}, 900_000);

const service = useContainerService({ AIRLOCK_TEMPLATE_POOLS: 'gcc=1' });

/** The shipped templates (sandbox-images/templates) and a language each serves. */
const TEMPLATE_OF = { gcc: 'cpp', go: 'go', rust: 'rust', java: 'java', ruby: 'ruby', php: 'php' } as const;
const HELLO: Record<string, string> = {
  go: 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello, go") }\n',
  rust: 'fn main() {\n    println!("hello, rust");\n}\n',
  java: 'public class Main {\n    public static void main(String[] a) {\n        System.out.println("hello, java");\n    }\n}\n',
  ruby: 'puts "hello, ruby"\n',
  php: '<?php\necho "hello, php\\n";\n',
};

const HELLO_C = '#include <stdio.h>\nint main(void) { printf("hello, %s\\n", "c"); return 0; }\n';

describe.each(BACKENDS)('compiled languages on %s', (backend: ContainerBackend) => {
  const job = (language: string, code: string, extra: Record<string, unknown> = {}) =>
    run(
      service().url,
      // A generous compile limit: this machine may be loaded; the compile's own limit is tested below.
      { language, backend, code, limits: { wall_time_ms: 10_000, compile_wall_time_ms: 60_000 }, ...extra },
      120,
    );

  it(
    'C and C++ hello: compiled, then run; result.compile holds the compile step',
    async () => {
      const c = await job('c', HELLO_C);
      expect(c.result, c.result.reason).toMatchObject({
        outcome: 'success',
        exit_code: 0,
        stdout: 'hello, c\n',
        compile: { exit_code: 0, stdout: '', stderr: '' },
      });
      expect(c.result.compile.wall_ms).toBeGreaterThan(0);
      const cpp = await job(
        'cpp',
        '#include <iostream>\n#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; std::cout << v.size() << "\\n"; }\n',
        { template: 'gcc' },
      );
      expect(cpp.result, cpp.result.reason).toMatchObject({ outcome: 'success', stdout: '3\n' });
      // A built-in image's run has no compile field; python in a template-less run is unchanged.
      const py = await job('python', 'print(1)');
      expect(py.result.compile).toBeUndefined();
    },
    SLOW,
  );

  it.each(Object.keys(HELLO))(
    '%s hello from its shipped template',
    async (language) => {
      const e = await job(language, HELLO[language] as string, {
        limits: { wall_time_ms: 30_000, memory_mb: 512, compile_wall_time_ms: 120_000 },
      });
      expect(e.result, `${e.result.reason} ${e.result.stderr} ${e.result.compile?.stderr}`).toMatchObject({
        outcome: 'success',
        stdout: `hello, ${language}\n`,
      });
      // Interpreted languages have no compile step: compile is null.
      if (language === 'ruby' || language === 'php') expect(e.result.compile).toBeNull();
      else expect(e.result.compile.exit_code).toBe(0);
    },
    SLOW,
  );

  it(
    'a compile error ends compile_error with gcc message; the program does not run',
    async () => {
      const e = await job('c', 'int main(void) { puts("never") return 0; }\n');
      expect(e.result).toMatchObject({
        outcome: 'compile_error',
        exit_code: null,
        stdout: '',
        stderr: '',
        compile: { exit_code: 1 },
      });
      expect(e.result.compile.stderr).toMatch(/main\.c:1:\d+: error: expected/);
      expect(e.result.reason).toBe('compile step failed: the compiler exited with 1');
    },
    SLOW,
  );

  it(
    'runtime error, timeout, memory bomb and fork bomb in a compiled program',
    async () => {
      const exit3 = await job(
        'c',
        '#include <stdio.h>\nint main(void) { fputs("bad\\n", stderr); return 3; }\n',
      );
      expect(exit3.result).toMatchObject({
        outcome: 'error',
        exit_code: 3,
        stderr: 'bad\n',
        compile: { exit_code: 0 },
      });

      const loop = await job('c', 'int main(void) { for (;;) {} }\n', {
        limits: { wall_time_ms: 1500, compile_wall_time_ms: 60_000 },
      });
      expect(loop.result).toMatchObject({ outcome: 'timeout', compile: { exit_code: 0 } });

      const bomb = await job(
        'c',
        '#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) { char *p = malloc(1 << 20); if (!p) return 9; memset(p, 1, 1 << 20); } }\n',
        { limits: { wall_time_ms: 20_000, memory_mb: 64, compile_wall_time_ms: 60_000 } },
      );
      expect(bomb.result.outcome).toBe('memory_limit');

      // Every child waits; the parent forks until fork fails (pids cgroup on runc, nproc on gVisor).
      const forks = await job(
        'c',
        '#include <stdio.h>\n#include <unistd.h>\nint main(void) { for (int n = 0;; n++) { pid_t p = fork(); if (p < 0) { printf("fork refused after %s\\n", n > 10 ? "many" : "few"); return 0; } if (p == 0) { pause(); _exit(0); } } }\n',
      );
      expect(forks.result, forks.result.reason).toMatchObject({
        outcome: 'success',
        stdout: 'fork refused after many\n',
      });
    },
    SLOW,
  );

  it(
    'a compile that never ends is stopped at compile_wall_time_ms: compile_error',
    async () => {
      // 2^26 nested includes: the preprocessor would run for hours.
      const files = Array.from({ length: 26 }, (_, i) => ({
        path: `h${i}.h`,
        content: i === 25 ? '' : `#include "h${i + 1}.h"\n#include "h${i + 1}.h"\n`,
      }));
      const e = await job('c', '#include "h0.h"\nint main(void) { return 0; }\n', {
        files,
        limits: { wall_time_ms: 10_000, compile_wall_time_ms: 2000 },
      });
      expect(e.result).toMatchObject({
        outcome: 'compile_error',
        reason: 'compile step failed: wall time limit of 2000 ms exceeded',
        compile: { exit_code: null },
      });
    },
    SLOW,
  );

  it(
    'a compile writing a 32 MiB object file hits the 16 MiB /tmp bound: compile_error',
    async () => {
      const e = await job(
        'c',
        'static char big[32 << 20] = {[0 ... (32 << 20) - 1] = 1};\nint main(void) { return big[5]; }\n',
        {
          limits: { wall_time_ms: 10_000, compile_wall_time_ms: 60_000 },
        },
      );
      expect(e.result.outcome).toBe('compile_error');
      // gcc reports the full /tmp (or is killed for memory); on a slow gVisor the compile limit may come first.
      expect(`${e.result.compile.stderr} ${e.result.reason}`).toMatch(
        /No space left on device|File too large|memory|Killed|wall time limit of 60000 ms exceeded/i,
      );
    },
    SLOW,
  );

  it(
    'a program cannot overwrite the compiler or the runner (read-only root); the next compile works',
    async () => {
      const e = await job(
        'c',
        [
          '#include <stdio.h>',
          '#include <errno.h>',
          '#include <string.h>',
          'static void try(const char *p) { FILE *f = fopen(p, "w"); printf("%s: %s\\n", p, f ? "OVERWRITTEN" : (errno == EROFS || errno == EACCES ? "refused" : strerror(errno))); }',
          'int main(void) { try("/usr/bin/gcc-12"); try("/usr/lib/gcc/x86_64-linux-gnu/12/cc1"); try("/opt/airlock/runner"); return 0; }',
        ].join('\n'),
      );
      expect(e.result.stdout).toBe(
        '/usr/bin/gcc-12: refused\n/usr/lib/gcc/x86_64-linux-gnu/12/cc1: refused\n/opt/airlock/runner: refused\n',
      );
      const again = await job('c', HELLO_C);
      expect(again.result.stdout).toBe('hello, c\n');
    },
    SLOW,
  );

  it(
    'expected_output: matched true (trailing newline tolerant) and false',
    async () => {
      const yes = await job('c', HELLO_C, { expected_output: 'hello, c' });
      expect(yes.result).toMatchObject({ outcome: 'success', matched: true });
      const no = await job('c', HELLO_C, { expected_output: 'hello, C\n' });
      expect(no.result).toMatchObject({ outcome: 'success', matched: false });
      const none = await job('c', HELLO_C);
      expect(none.result.matched).toBeUndefined();
    },
    SLOW,
  );
});

describe('the gcc template on the wire', () => {
  it(
    "its warm containers have every hardened flag and no exec (the compile runs in pid 1's runner); /work is exec for the compiled program, /tmp is not",
    async () => {
      const ours = new Set(
        BACKENDS.map((b) => (service().service.registry.get(b) as ContainerSandbox).instance),
      );
      const gccContainers = () =>
        execFileSync(
          'docker',
          [
            'ps',
            '--no-trunc',
            '--filter',
            'label=airlock=1',
            '--format',
            '{{.ID}} {{.Label "airlock.pool"}} {{.Label "airlock.instance"}}',
          ],
          {
            encoding: 'utf8',
          },
        )
          .split('\n')
          .filter((line) => line.includes(' airlock-tmpl-gcc:'))
          // This service's own (the machine may run other Airlock services on the same dockerd).
          .filter((line) => ours.has(line.split(' ')[2] as string));
      let found: string[] = [];
      // Both backends keep one warm gcc container (AIRLOCK_TEMPLATE_POOLS=gcc=1); wait (bounded) for them.
      for (let i = 0; i < 600 && new Set(found.map((l) => l.split('|')[1])).size < 2; i++) {
        found = gccContainers();
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(new Set(found.map((l) => l.split('|')[1]))).toEqual(new Set(['runc', 'runsc']));
      for (const line of found) {
        const id = line.split(' ')[0] as string;
        let info: any;
        try {
          [info] = JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8', stdio: 'pipe' }));
        } catch {
          continue; // leased and removed since it was listed
        }
        const host = info.HostConfig;
        expect(info.Config.User).toBe('65534:65534');
        expect(host.ReadonlyRootfs).toBe(true);
        expect(host.CapDrop).toEqual(['ALL']);
        expect(host.Privileged).toBe(false);
        expect(host.SecurityOpt).toContain('no-new-privileges');
        expect(host.NetworkMode).toBe('none');
        expect(host.PidsLimit).toBeGreaterThan(0);
        expect(host.Memory).toBeGreaterThan(0);
        expect(host.Memory).toBe(host.MemorySwap);
        expect(host.Tmpfs['/work']).toMatch(/(^|,)exec,nosuid,nodev/);
        expect(host.Tmpfs['/tmp']).toMatch(/noexec,nosuid,nodev/);
      }
      // The compile step is the first of two jobs of the container's own runner (pid 1): nothing is started
      // in a warm container with `docker exec`, before or during its job.
      for (const line of found) {
        let info: any;
        try {
          [info] = JSON.parse(
            execFileSync('docker', ['inspect', line.split(' ')[0] as string], {
              encoding: 'utf8',
              stdio: 'pipe',
            }),
          );
        } catch {
          continue; // leased and removed since it was listed
        }
        expect(info.ExecIDs ?? []).toEqual([]);
        expect(info.Config.Cmd).toEqual(['/opt/airlock/runner']);
      }
    },
    SLOW,
  );

  it('refusals: a compiled language in a template that does not serve it, and a compile limit above the ceiling', async () => {
    const wrong = await call(service().url, 'POST', '/v1/executions', {
      language: 'c',
      template: 'python',
      code: 'int main(void){}',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_request', field: 'template' });
    expect(wrong.body.error.message).toMatch(/does not serve c/);
    const above = await call(service().url, 'POST', '/v1/executions', {
      language: 'c',
      code: 'int main(void){}',
      limits: { compile_wall_time_ms: 600_000 },
    });
    expect(above.status).toBe(400);
    expect(above.body.error).toMatchObject({ code: 'invalid_request', field: 'limits.compile_wall_time_ms' });
    const unknown = await call(service().url, 'POST', '/v1/executions', {
      language: 'cobol',
      code: 'x',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('language');
  });
});
