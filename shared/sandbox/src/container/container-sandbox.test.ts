// The docker (runc) and gvisor (runsc) backends against the real dockerd, real runsc and the real images:
// languages, input round-trip, exit codes, output files, hardening, the warm pool, concurrency, shutdown.

import { createHash } from 'node:crypto';
import type { ExecutionResult } from '@airlock/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { SandboxJob } from '../sandbox.ts';
import type { ContainerRuntime } from './container-spec.ts';
import {
  BACKEND_OF as BACKEND,
  containersWithLabel,
  runJob as run,
  suiteSandbox,
  TEST_LIMITS,
  testJob,
} from './container-test-env.ts';

const SLOW = 120_000;
const CANARY = `canary-${process.pid}-7f3a9c`;

function decoded(result: ExecutionResult): Record<string, string> {
  return Object.fromEntries(
    (result.files ?? []).map((f) => [f.path, Buffer.from(f.content, 'base64').toString('utf8')]),
  );
}

describe.each(['runc', 'runsc'] as const)('ContainerSandbox on %s', (runtime: ContainerRuntime) => {
  // A secret in the service's own environment must never reach a sandbox.
  const suite = suiteSandbox(runtime, () => {
    process.env.AIRLOCK_TEST_CANARY = CANARY;
  });

  it('lists every language with the image version', () => {
    const runtimes = suite.sandbox.runtimes();
    expect(runtimes.map((r) => r.language).sort()).toEqual(['bash', 'javascript', 'python', 'typescript']);
    for (const info of runtimes) {
      expect(info).toMatchObject({ backend: BACKEND[runtime], available: true });
      expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it.each([
    ['python', 'print("hello python")', 'hello python\n'],
    ['bash', 'echo "hello bash"', 'hello bash\n'],
    ['javascript', 'console.log("hello " + "javascript")', 'hello javascript\n'],
    ['typescript', 'const who: string = "typescript";\nconsole.log("hello " + who);', 'hello typescript\n'],
  ] as const)(
    'runs %s hello',
    async (language, code, stdout) => {
      const result = await run(suite.sandbox, testJob({ language, code }));
      expect(result).toMatchObject({ outcome: 'success', exit_code: 0, signal: null, stdout, stderr: '' });
      expect(result.usage.cpu_ms).toBeGreaterThanOrEqual(0);
      expect(result.usage.memory_peak_bytes).toBeGreaterThan(0);
    },
    SLOW,
  );

  it(
    'creates hardened containers and shows the program nothing of the service',
    async () => {
      await suite.sandbox.whenWarm();
      const ids = containersWithLabel(`airlock.instance=${suite.sandbox.instance}`);
      // Containers of earlier jobs may vanish meanwhile; every one still there must be hardened.
      const inspected = await Promise.allSettled(
        ids.map((id) => suite.env.docker.getContainer(id).inspect()),
      );
      const details = inspected.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(details.length).toBeGreaterThan(0);
      for (const { Config, HostConfig, Mounts } of details) {
        expect(Config.User).toBe('65534:65534');
        expect(Config.Labels).toMatchObject({ airlock: '1', 'airlock.backend': BACKEND[runtime] });
        expect(HostConfig).toMatchObject({
          Runtime: runtime,
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          CapDrop: ['ALL'],
          SecurityOpt:
            runtime === 'runsc' ? expect.arrayContaining(['no-new-privileges']) : ['no-new-privileges'],
          Init: false,
          Privileged: false,
          Memory: 128 * 1024 * 1024,
          MemorySwap: 128 * 1024 * 1024,
          NanoCpus: 1_000_000_000,
        });
        expect(Mounts).toEqual([]);
        expect(Object.keys(HostConfig.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/work']);
      }

      const code = [
        'echo "uid=$(id -u):$(id -g)"',
        'touch /etc/probe 2>/dev/null && echo "root writable" || echo "root read-only"',
        'echo "resolv=$(wc -c < /etc/resolv.conf)"',
        'echo "net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"',
        'env',
        'cat /proc/1/environ 2>/dev/null | tr "\0" "\n"',
      ].join('\n');
      const result = await run(suite.sandbox, testJob({ language: 'bash', code, env: { PLAIN: 'yes' } }));
      expect(result.outcome).toBe('success');
      const lines = result.stdout.split('\n');
      expect(lines.slice(0, 4)).toEqual(['uid=65534:65534', 'root read-only', 'resolv=0', 'net=lo ']);
      expect(result.stdout).toContain('PLAIN=yes');
      expect(result.stdout).not.toContain(CANARY);
    },
    SLOW,
  );

  it(
    'round-trips stdin, args, env and files',
    async () => {
      const code = [
        'import os, sys',
        'print(sys.argv[1:])',
        'print(sys.stdin.read())',
        'print(open("data/in.txt").read())',
        'print(os.environ.get("GREETING"), "AIRLOCK" in str(os.environ))',
      ].join('\n');
      const result = await run(
        suite.sandbox,
        testJob({
          language: 'python',
          code,
          stdin: 'from stdin ünï',
          args: ['a b', '-x', ''],
          env: { GREETING: 'hi there' },
          files: [{ path: 'data/in.txt', content: new TextEncoder().encode('file content') }],
        }),
      );
      expect(result.stdout).toBe("['a b', '-x', '']\nfrom stdin ünï\nfile content\nhi there False\n");
      expect(result.outcome).toBe('success');
    },
    SLOW,
  );

  it(
    'reports a non-zero exit code and a signal as errors, with stderr',
    async () => {
      const exited = await run(suite.sandbox, testJob({ language: 'bash', code: 'echo oops >&2; exit 3' }));
      expect(exited).toMatchObject({
        outcome: 'error',
        exit_code: 3,
        signal: null,
        stderr: 'oops\n',
        reason: null,
      });
      const killed = await run(suite.sandbox, testJob({ language: 'bash', code: 'kill -SEGV $$' }));
      expect(killed).toMatchObject({ outcome: 'error', exit_code: null, signal: 'SIGSEGV' });
    },
    SLOW,
  );

  it(
    'returns output files and never a symlink or FIFO',
    async () => {
      const code = [
        'mkdir -p out/sub',
        'echo result > out/result.txt',
        'printf x > out/sub/x.bin',
        'ln -s /etc/passwd out/link',
        'ln -s / out/root',
        'mkfifo out/fifo',
      ].join('\n');
      const result = await run(suite.sandbox, testJob({ language: 'bash', code }));
      expect(result.outcome).toBe('success');
      expect(decoded(result)).toEqual({ 'result.txt': 'result\n', 'sub/x.bin': 'x' });
      expect(result.files?.find((f) => f.path === 'result.txt')).toMatchObject({
        size: 7,
        encoding: 'base64',
      });
    },
    SLOW,
  );

  it(
    'returns a large output file whole',
    async () => {
      const code = 'head -c 3000000 /dev/urandom > out/big.bin && sha256sum out/big.bin | cut -c1-64';
      const result = await run(suite.sandbox, testJob({ language: 'bash', code }));
      expect(result.outcome).toBe('success');
      const big = Buffer.from(result.files?.[0]?.content ?? '', 'base64');
      expect(big.length).toBe(3_000_000);
      expect(`${createHash('sha256').update(big).digest('hex')}\n`).toBe(result.stdout);
    },
    SLOW,
  );

  it(
    'serves a pooled job from a warm container, and other profiles cold (figures printed)',
    async () => {
      await suite.sandbox.whenWarm();
      const job = () => testJob({ language: 'python', code: 'print(1)' });
      const before = suite.sandbox.stats();
      const warm = await run(suite.sandbox, job());
      const after = suite.sandbox.stats();
      expect(warm.outcome).toBe('success');
      expect(after.warmLeases).toBe(before.warmLeases + 1);
      expect(after.coldStarts).toBe(before.coldStarts);
      const coldJob = () => ({ ...job(), limits: { ...TEST_LIMITS, memory_mb: TEST_LIMITS.memory_mb + 1 } });
      expect((await run(suite.sandbox, coldJob())).outcome).toBe('success');
      expect(suite.sandbox.stats().coldStarts).toBe(after.coldStarts + 1);

      const timed = async (make: () => SandboxJob) => {
        // Measure a quiet machine: pools full, earlier containers removed.
        await suite.sandbox.whenWarm();
        await vi.waitFor(() => expect(suite.sandbox.stats().removalsPending).toBe(0), { timeout: 60_000 });
        const started = performance.now();
        const result = await run(suite.sandbox, make());
        expect(result.outcome).toBe('success');
        return performance.now() - started;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const warmMs: number[] = [];
      const coldMs: number[] = [];
      for (let i = 0; i < 3; i++) {
        warmMs.push(await timed(job));
        coldMs.push(await timed(coldJob));
      }
      console.log(
        `[figures] ${runtime}: python hello, warm pool median ${median(warmMs).toFixed(0)} ms ` +
          `(${warmMs.map((x) => x.toFixed(0)).join('/')}), cold path median ${median(coldMs).toFixed(0)} ms ` +
          `(${coldMs.map((x) => x.toFixed(0)).join('/')})`,
      );
    },
    SLOW,
  );

  it(
    'runs 10 jobs at once',
    async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          run(suite.sandbox, testJob({ language: 'python', code: `print(${i} * 7)` })),
        ),
      );
      expect(results.map((r) => r.outcome)).toEqual(Array(10).fill('success'));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 10 }, (_, i) => `${i * 7}\n`));
    },
    SLOW,
  );

  it(
    'leaves no container behind after close()',
    async () => {
      await suite.sandbox.close();
      expect(containersWithLabel(`airlock.instance=${suite.sandbox.instance}`)).toEqual([]);
      const afterClose = await run(suite.sandbox, testJob({ language: 'bash', code: 'echo never' }));
      expect(afterClose).toMatchObject({ outcome: 'internal_error' });
      expect(suite.sandbox.runtimes().every((r) => !r.available)).toBe(true);
    },
    SLOW,
  );
});
