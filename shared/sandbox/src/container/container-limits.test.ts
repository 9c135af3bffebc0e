// Limits and stops on the docker (runc) and gvisor (runsc) backends, against the real dockerd and runsc:
// wall-clock timeout, OOM kill, output flood, cancel, a fork bomb, and job files larger than the work folder.

import type { ExecutionResult } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import type { ContainerRuntime } from './container-spec.ts';
import { runJob, suiteSandbox, TEST_LIMITS, testJob } from './container-test-env.ts';

const SLOW = 120_000;

describe.each(['runc', 'runsc'] as const)('ContainerSandbox limits on %s', (runtime: ContainerRuntime) => {
  const suite = suiteSandbox(runtime);

  it(
    'refuses a job whose files do not fit the work folder',
    async () => {
      const chunk = new Uint8Array(8_000_000).fill(120);
      const files = Array.from({ length: 9 }, (_, i) => ({ path: `big${i}.bin`, content: chunk }));
      const result = await runJob(suite.sandbox, testJob({ language: 'bash', code: 'echo never', files }));
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
      const bombed = runJob(suite.sandbox, testJob({ language: 'python', code: bomb }), {
        signal: controller.signal,
        onOutput: (_stream, chunk) => {
          if (!chunk.includes('fork failed')) return;
          // While the bomb's processes are all alive, another job must still start and fork.
          neighbour = runJob(suite.sandbox, testJob({ language: 'bash', code: 'echo $(echo forked)' }));
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
      const result = await runJob(
        suite.sandbox,
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
      const result = await runJob(suite.sandbox, testJob({ language: 'python', code }));
      expect(result).toMatchObject({ outcome: 'memory_limit', signal: 'SIGKILL' });
      expect(result.reason).toContain('128 MB');
    },
    SLOW,
  );

  it(
    'caps an output flood at the limit, flags it truncated and stops the job',
    async () => {
      const seen: string[] = [];
      const result = await runJob(
        suite.sandbox,
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
      const result = await runJob(
        suite.sandbox,
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
});
