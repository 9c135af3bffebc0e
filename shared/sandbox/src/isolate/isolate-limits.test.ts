// The isolate backend's limits, as a user sees them: every kind of endless program ends with `timeout`, a memory
// bomb with `memory_limit`, an output flood with `output_limit` and the output cut at the cap; the sandbox keeps
// serving afterwards. Real isolate host processes, no fakes.

import { describe, expect, it } from 'vitest';
import { runJob, useIsolateSandbox } from './test-jobs.ts';

const sandbox = useIsolateSandbox(2);

describe('IsolateSandbox stops endless programs at the deadline', () => {
  const endless = {
    'a synchronous loop': 'console.log("start"); for (;;) {}',
    'an awaiting loop': 'for (;;) await null;',
    'a microtask chain': 'const f = () => { Promise.resolve().then(f) }; f();',
    'a recursive promise chain': 'const f = () => Promise.resolve().then(f); f();',
    'a timer storm': [
      'setInterval(() => {}, 0);',
      'const again = () => { for (let i = 0; i < 50; i++) setTimeout(() => {}, 0); setTimeout(again, 0); };',
      'again();',
    ].join('\n'),
  };

  it.each(Object.entries(endless))('ends %s with outcome timeout', async (_name, code) => {
    const { result } = await runJob(sandbox(), { code, limits: { wall_time_ms: 800, memory_mb: 256 } });
    // A recursive promise chain also grows memory; whichever limit it meets first ends it.
    const expected = code.includes('=> Promise.resolve') ? ['timeout', 'memory_limit'] : ['timeout'];
    expect(expected).toContain(result.outcome);
    if (result.outcome === 'timeout') expect(result.reason).toMatch(/wall time limit of 800 ms exceeded/);
    expect(result.exit_code).toBeNull();
    expect(result.signal).toBeNull();
  });

  it('ends a program over its CPU time with outcome timeout, naming the CPU limit', async () => {
    const { result } = await runJob(sandbox(), { code: 'for (;;) {}', limits: { cpu_time_ms: 200 } });
    expect(result.outcome).toBe('timeout');
    expect(result.reason).toBe('cpu time limit of 200 ms exceeded');
    expect(result.usage.cpu_ms).toBeGreaterThanOrEqual(200);
  });

  it('refuses more than 1,000 pending timers with a RangeError inside the guest', async () => {
    const code = [
      'try { for (let i = 0; i < 2000; i++) setTimeout(() => {}, 60_000); }',
      'catch (e) { console.log(e instanceof RangeError, e.message); }',
      'airlock.exit(0);',
    ].join('\n');
    const { result } = await runJob(sandbox(), { code });
    expect(result.outcome).toBe('success');
    expect(result.stdout).toBe('true Too many pending timers: the isolate sandbox allows 1000\n');
  });
});

describe('IsolateSandbox enforces the memory limit', () => {
  it('ends a memory bomb with memory_limit and then runs the next job', async () => {
    const bomb = 'const keep = []; for (;;) keep.push(new Array(1e5).fill(0.5));';
    const { result } = await runJob(sandbox(), { code: bomb, limits: { memory_mb: 32 } });
    expect(result.outcome).toBe('memory_limit');
    expect(result.reason).toMatch(/^memory limit of 32 MB exceeded/);
    const next = await runJob(sandbox(), { code: 'console.log("still serving")' });
    expect(next.result).toMatchObject({ outcome: 'success', stdout: 'still serving\n' });
  });

  it('treats an oversized typed array as an ordinary guest error, like Node', async () => {
    const code = 'try { new Uint8Array(512 * 1024 * 1024) } catch (e) { console.log(e.name) }';
    const { result } = await runJob(sandbox(), { code, limits: { memory_mb: 32 } });
    expect(result).toMatchObject({ outcome: 'success', stdout: 'RangeError\n' });
  });
});

describe('IsolateSandbox caps output', () => {
  const cap = 10_000;

  it.each([
    ['stdout', 'for (;;) console.log("x".repeat(99));'],
    ['stderr', 'for (;;) console.error("y".repeat(99));'],
  ] as const)('stops a flood on %s at the cap with output_limit', async (stream, code) => {
    const { result, chunks } = await runJob(sandbox(), { code, limits: { output_bytes: cap } });
    expect(result.outcome).toBe('output_limit');
    expect(result.reason).toBe(`output exceeded the limit of ${cap} bytes`);
    expect(result.exit_code).toBeNull();
    expect(result[stream]).toHaveLength(cap);
    expect(result[stream === 'stdout' ? 'stderr' : 'stdout']).toBe('');
    expect(result.truncated).toEqual({ stdout: stream === 'stdout', stderr: stream === 'stderr' });
    expect(chunks.map((c) => c.chunk).join('')).toBe(result[stream]);
  });

  it('counts both streams together and never splits a UTF-8 character', async () => {
    const code = 'console.error("e".repeat(4999)); for (;;) console.log("é€😀");';
    const { result } = await runJob(sandbox(), { code, limits: { output_bytes: cap } });
    expect(result.outcome).toBe('output_limit');
    expect(result.stderr).toBe(`${'e'.repeat(4999)}\n`);
    expect(result.truncated).toEqual({ stdout: true, stderr: false });
    const stdoutBytes = Buffer.byteLength(result.stdout);
    expect(stdoutBytes).toBeLessThanOrEqual(cap - 5000);
    expect(stdoutBytes).toBeGreaterThan(cap - 5000 - 4);
    expect(result.stdout).not.toContain('\uFFFD');
  });

  it('keeps a program that prints exactly up to the cap successful', async () => {
    const { result } = await runJob(sandbox(), {
      code: `console.log("z".repeat(${cap - 1}))`,
      limits: { output_bytes: cap },
    });
    expect(result).toMatchObject({ outcome: 'success', truncated: { stdout: false, stderr: false } });
    expect(result.stdout).toHaveLength(cap);
  });
});

describe('IsolateSandbox with one host, jobs back to back', () => {
  const single = useIsolateSandbox(1);

  // A limit's result goes out before the busy isolate is disposed; the next job can reach the host in that
  // window and must wait for it, not be refused.
  it('runs the next job after an output flood and a timeout, each handed over at once', async () => {
    for (let round = 0; round < 5; round++) {
      const [flood, loop, next] = await Promise.all([
        runJob(single(), { code: 'for (;;) console.log("x".repeat(1000));', limits: { output_bytes: 4096 } }),
        runJob(single(), { code: 'for (;;) {}', limits: { wall_time_ms: 300 } }),
        runJob(single(), { code: 'console.log("next")' }),
      ]);
      expect(flood.result.outcome).toBe('output_limit');
      expect(loop.result.outcome).toBe('timeout');
      expect(next.result).toMatchObject({ outcome: 'success', stdout: 'next\n' });
    }
  });
});
