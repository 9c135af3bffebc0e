// The docker (runc) and gvisor (runsc) backends against the real dockerd, real runsc and the real images.

import { createHash } from 'node:crypto';
import type { ExecutionResult } from '@airlock/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SandboxJob, SandboxRunOptions } from '../sandbox.ts';
import { ContainerSandbox } from './container-sandbox.ts';
import type { ContainerRuntime } from './container-spec.ts';
import {
  type ContainerTestEnv,
  containersWithLabel,
  requireContainerEnv,
  TEST_LIMITS,
  testJob,
} from './container-test-env.ts';
import { reapLeftovers } from './reaper.ts';

const BACKEND = { runc: 'docker', runsc: 'gvisor' } as const;
const SLOW = 120_000;

function run(sandbox: ContainerSandbox, job: SandboxJob, options: Partial<SandboxRunOptions> = {}) {
  return sandbox.run(job, { signal: new AbortController().signal, ...options });
}

function decoded(result: ExecutionResult): Record<string, string> {
  return Object.fromEntries(
    (result.files ?? []).map((f) => [f.path, Buffer.from(f.content, 'base64').toString('utf8')]),
  );
}

describe.each(['runc', 'runsc'] as const)('ContainerSandbox on %s', (runtime: ContainerRuntime) => {
  let env: ContainerTestEnv;
  let sandbox: ContainerSandbox;

  beforeAll(async () => {
    env = await requireContainerEnv();
    sandbox = new ContainerSandbox({
      docker: env.docker,
      runtime,
      backend: BACKEND[runtime],
      images: env.images,
      pool: { size: 2, memoryMb: TEST_LIMITS.memory_mb },
    });
    await sandbox.start();
  }, SLOW);

  afterAll(async () => {
    if (!sandbox) return;
    try {
      await sandbox.close();
    } finally {
      await reapLeftovers(env.docker, { labels: [`airlock.instance=${sandbox.instance}`] });
    }
  }, SLOW);

  it('lists every language with the image version', () => {
    const runtimes = sandbox.runtimes();
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
      const result = await run(sandbox, testJob({ language, code }));
      expect(result).toMatchObject({ outcome: 'success', exit_code: 0, signal: null, stdout, stderr: '' });
      expect(result.usage.cpu_ms).toBeGreaterThanOrEqual(0);
      expect(result.usage.memory_peak_bytes).toBeGreaterThan(0);
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
        sandbox,
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
      const exited = await run(sandbox, testJob({ language: 'bash', code: 'echo oops >&2; exit 3' }));
      expect(exited).toMatchObject({
        outcome: 'error',
        exit_code: 3,
        signal: null,
        stderr: 'oops\n',
        reason: null,
      });
      const killed = await run(sandbox, testJob({ language: 'bash', code: 'kill -SEGV $$' }));
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
      const result = await run(sandbox, testJob({ language: 'bash', code }));
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
      const result = await run(sandbox, testJob({ language: 'bash', code }));
      expect(result.outcome).toBe('success');
      const big = Buffer.from(result.files?.[0]?.content ?? '', 'base64');
      expect(big.length).toBe(3_000_000);
      expect(`${createHash('sha256').update(big).digest('hex')}\n`).toBe(result.stdout);
    },
    SLOW,
  );

  it(
    'refuses a job whose files do not fit the work folder',
    async () => {
      const chunk = new Uint8Array(8_000_000).fill(120);
      const files = Array.from({ length: 9 }, (_, i) => ({ path: `big${i}.bin`, content: chunk }));
      const result = await run(sandbox, testJob({ language: 'bash', code: 'echo never', files }));
      expect(result).toMatchObject({ outcome: 'rejected', stdout: '', stderr: '' });
      expect(result.reason).toContain('No space left on device');
    },
    SLOW,
  );

  it(
    'contains a fork bomb to its own sandbox',
    async () => {
      const bomb = [
        'import os, time',
        'n = 0',
        'try:',
        '    while True:',
        "        os.posix_spawn('/bin/sleep', ['sleep', '60'], {})",
        '        n += 1',
        'except OSError as e:',
        '    print("fork failed", e.errno, n > 20, flush=True)',
        'time.sleep(60)',
      ].join('\n');
      let neighbour: Promise<ExecutionResult> | undefined;
      const controller = new AbortController();
      const bombed = run(sandbox, testJob({ language: 'python', code: bomb }), {
        signal: controller.signal,
        onOutput: (_stream, chunk) => {
          if (!chunk.includes('fork failed')) return;
          // While the bomb's processes are all alive, another job must still start and fork.
          neighbour = run(sandbox, testJob({ language: 'bash', code: 'echo $(echo forked)' }));
          void neighbour.finally(() => controller.abort());
        },
      });
      const result = await bombed;
      expect(result).toMatchObject({ outcome: 'canceled', stdout: 'fork failed 11 True\n' });
      expect(await neighbour).toMatchObject({ outcome: 'success', stdout: 'forked\n' });
    },
    SLOW,
  );

  it(
    'kills a job at its wall-clock limit',
    async () => {
      const result = await run(
        sandbox,
        testJob({
          language: 'python',
          code: 'import time\nprint("started", flush=True)\ntime.sleep(600)',
          limits: { ...TEST_LIMITS, wall_time_ms: 3_000 },
        }),
      );
      expect(result).toMatchObject({ outcome: 'timeout', stdout: 'started\n' });
      expect(result.reason).toContain('3000 ms');
    },
    SLOW,
  );

  it(
    'ends a memory bomb with memory_limit from the OOM kill',
    async () => {
      const code = 'blocks = []\nwhile True:\n    blocks.append(b"x" * (8 << 20))';
      const result = await run(sandbox, testJob({ language: 'python', code }));
      expect(result).toMatchObject({ outcome: 'memory_limit', signal: 'SIGKILL' });
      expect(result.reason).toContain('128 MB');
    },
    SLOW,
  );

  it(
    'caps an output flood at the limit, flags it truncated and stops the job',
    async () => {
      const seen: string[] = [];
      const result = await run(
        sandbox,
        testJob({
          language: 'python',
          code: 'import sys\nwhile True:\n    sys.stdout.write("é" * 999)\n    sys.stderr.write("e")',
          limits: { ...TEST_LIMITS, output_bytes: 50_000 },
        }),
        { onOutput: (_stream, chunk) => seen.push(chunk) },
      );
      expect(result.outcome).toBe('output_limit');
      const bytes = Buffer.byteLength(result.stdout) + Buffer.byteLength(result.stderr);
      expect(bytes).toBeLessThanOrEqual(50_000);
      expect(bytes).toBeGreaterThan(49_000);
      expect(result.truncated.stdout || result.truncated.stderr).toBe(true);
      expect(result.stdout).not.toContain('\uFFFD');
      expect(Buffer.byteLength(seen.join(''))).toBe(bytes);
    },
    SLOW,
  );

  it(
    'cancels a running job',
    async () => {
      const controller = new AbortController();
      const result = await run(
        sandbox,
        testJob({
          language: 'bash',
          code: 'echo started; sleep 600',
          limits: { ...TEST_LIMITS, wall_time_ms: 60_000 },
        }),
        {
          signal: controller.signal,
          onOutput: (_stream, chunk) => {
            if (chunk.includes('started')) controller.abort();
          },
        },
      );
      expect(result).toMatchObject({ outcome: 'canceled', stdout: 'started\n' });
    },
    SLOW,
  );

  it(
    'serves a pooled job from a warm container, and other profiles cold (figures printed)',
    async () => {
      await sandbox.whenWarm();
      const job = () => testJob({ language: 'python', code: 'print(1)' });
      const before = sandbox.stats();
      const warm = await run(sandbox, job());
      const after = sandbox.stats();
      expect(warm.outcome).toBe('success');
      expect(after.warmLeases).toBe(before.warmLeases + 1);
      expect(after.coldStarts).toBe(before.coldStarts);
      const coldJob = () => ({ ...job(), limits: { ...TEST_LIMITS, memory_mb: TEST_LIMITS.memory_mb + 1 } });
      expect((await run(sandbox, coldJob())).outcome).toBe('success');
      expect(sandbox.stats().coldStarts).toBe(after.coldStarts + 1);

      const timed = async (make: () => SandboxJob) => {
        // Measure a quiet machine: pools full, earlier containers removed.
        await sandbox.whenWarm();
        await vi.waitFor(() => expect(sandbox.stats().removalsPending).toBe(0), { timeout: 60_000 });
        const started = performance.now();
        const result = await run(sandbox, make());
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
          run(sandbox, testJob({ language: 'python', code: `print(${i} * 7)` })),
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
      await sandbox.close();
      expect(containersWithLabel(`airlock.instance=${sandbox.instance}`)).toEqual([]);
      const afterClose = await run(sandbox, testJob({ language: 'bash', code: 'echo never' }));
      expect(afterClose).toMatchObject({ outcome: 'internal_error' });
      expect(sandbox.runtimes().every((r) => !r.available)).toBe(true);
    },
    SLOW,
  );
});
