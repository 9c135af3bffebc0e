// Jobs in isolates a host prepared before the job arrived: each job still sees a brand-new isolate holding only
// its own data, its clock starts with the job, and the default and any other memory limit both hold.
// Real isolate host processes, no fakes.

import { describe, expect, it } from 'vitest';
import { runJob, TEST_LIMITS, useIsolateSandbox } from './test-jobs.ts';

const sandbox = useIsolateSandbox(1);

describe('IsolateSandbox with prepared isolates', () => {
  it('gives every job on a host a brand-new isolate with only that job’s stdin, args and env', async () => {
    const code = [
      'console.log(typeof globalThis.mark, Object.prototype.mark, airlock.stdin, airlock.args.join(), airlock.env.N);',
      'globalThis.mark = 1; Object.prototype.mark = "left over";',
    ].join('\n');
    for (let i = 0; i < 6; i += 1) {
      const { result } = await runJob(sandbox(), {
        code,
        stdin: `in ${i}`,
        args: [`a${i}`, `b${i}`],
        env: { N: `${i}` },
        // Every other job asks for a different limit, so prepared and built-on-demand isolates alternate.
        limits: { memory_mb: i % 2 === 0 ? TEST_LIMITS.memory_mb : 48 },
      });
      expect(result).toMatchObject({
        outcome: 'success',
        stdout: `undefined undefined in ${i} a${i},b${i} ${i}\n`,
      });
    }
  });

  it('starts the guest’s clock when the job begins, not when its isolate was prepared', async () => {
    await runJob(sandbox(), { code: '' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = Date.now();
    const { result } = await runJob(sandbox(), {
      code: 'console.log(performance.timeOrigin, performance.now())',
    });
    const after = Date.now();
    const [origin = Number.NaN, now = Number.NaN] = result.stdout.trim().split(' ').map(Number);
    expect(origin).toBeGreaterThanOrEqual(before);
    expect(origin).toBeLessThanOrEqual(after);
    expect(now).toBeGreaterThanOrEqual(0);
    expect(now).toBeLessThanOrEqual(after - before);
  });

  it.each([
    ['the default limit (a prepared isolate)', TEST_LIMITS.memory_mb],
    ['another limit (an isolate built for the job)', 24],
  ])('ends a memory bomb under %s with memory_limit, then keeps serving', async (_name, memoryMb) => {
    const bomb = 'const keep = []; for (;;) keep.push(new Array(1e5).fill(0.5));';
    const { result } = await runJob(sandbox(), { code: bomb, limits: { memory_mb: memoryMb } });
    expect(result.outcome).toBe('memory_limit');
    expect(result.reason).toMatch(new RegExp(`^memory limit of ${memoryMb} MB exceeded`));
    const next = await runJob(sandbox(), { code: 'console.log("still serving")' });
    expect(next.result).toMatchObject({ outcome: 'success', stdout: 'still serving\n' });
  });

  it('cancels a job and a timed-out job in prepared isolates, and the next job starts clean', async () => {
    const controller = new AbortController();
    const endless = runJob(sandbox(), { code: 'globalThis.mark = 1; for (;;) {}' }, controller.signal);
    setTimeout(() => controller.abort(), 200);
    expect((await endless).result.outcome).toBe('canceled');
    const timedOut = await runJob(sandbox(), { code: 'for (;;) {}', limits: { wall_time_ms: 300 } });
    expect(timedOut.result.outcome).toBe('timeout');
    const { result } = await runJob(sandbox(), { code: 'console.log(typeof globalThis.mark)' });
    expect(result).toMatchObject({ outcome: 'success', stdout: 'undefined\n' });
  });
});
