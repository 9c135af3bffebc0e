// SECURITY.md classes 10, 11, 13, 19 and 25 for the isolate backend, through the real REST API: each attack ends
// with its exact outcome and the service keeps serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, run, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService({ AIRLOCK_CONCURRENCY: '2', AIRLOCK_ISOLATE_HOSTS: '2' });
});
afterAll(async () => {
  await svc?.close();
});

const js = (code: string, limits: Record<string, number> = {}) =>
  run(svc.url, { language: 'javascript', code, limits });

async function stillServes() {
  const execution = await js('console.log("alive")');
  expect(execution.result.stdout).toBe('alive\n');
}

describe('class 11: infinite loops end at the deadline', () => {
  it.each([
    ['sync loop', 'for (;;) {}'],
    ['microtask loop', 'for (;;) await null;'],
    ['promise chain', 'const f = () => Promise.resolve().then(f); f(); await new Promise(() => {});'],
    ['timer storm', 'setInterval(() => { for (let i = 0; i < 100; i++) setTimeout(() => {}, 0); }, 0);'],
  ])('%s → timeout', async (_name, code) => {
    const execution = await js(code, { wall_time_ms: 500 });
    expect(execution.result.outcome).toBe('timeout');
    await stillServes();
  });
});

describe('class 10: memory bomb', () => {
  it('is killed with outcome memory_limit and the service stays up', async () => {
    const execution = await js('const a = []; for (;;) a.push(new Array(100000).fill(Math.random()));', {
      memory_mb: 32,
      wall_time_ms: 20_000,
    });
    expect(execution.result.outcome).toBe('memory_limit');
    await stillServes();
  });
});

describe('class 13: output flood', () => {
  it.each([
    ['stdout', 'for (;;) console.log("x".repeat(1000))'],
    ['stderr', 'for (;;) console.error("y".repeat(1000))'],
  ])('on %s is capped, flagged and stopped', async (stream, code) => {
    const execution = await js(code, { output_bytes: 10_000, wall_time_ms: 10_000 });
    expect(execution.result.outcome).toBe('output_limit');
    expect(execution.result.truncated[stream]).toBe(true);
    expect(
      Buffer.byteLength(execution.result.stdout) + Buffer.byteLength(execution.result.stderr),
    ).toBeLessThanOrEqual(10_000);
    await stillServes();
  });
});

describe('class 19: isolate tricks reach no host object', () => {
  it('constructor.constructor gives no process', async () => {
    const execution = await js(`
      const p = this?.constructor?.constructor?.('return typeof process')();
      const q = (() => {}).constructor('return typeof require')();
      const r = console.log.constructor('return typeof globalThis.process')();
      console.log(p, q, r);
    `);
    expect(execution.result).toMatchObject({ outcome: 'success', stdout: 'undefined undefined undefined\n' });
  });

  it('getters, Proxies and toJSON handed to host callbacks do not escape or crash', async () => {
    const execution = await js(`
      const evil = { get x() { return this.constructor.constructor('return typeof process')(); },
                     toJSON() { return this.constructor.constructor('return typeof require')(); } };
      const proxy = new Proxy({}, { get: (t, k) => () => 'trap:' + String(k), ownKeys: () => { throw new Error('no keys'); } });
      try { console.log(evil); } catch (e) { console.log('log threw', e.message); }
      try { console.log(proxy); } catch (e) { console.log('proxy threw'); }
      try { airlock.readFile({ toString() { return 'x'; } }); } catch (e) { console.log('readFile refused'); }
      console.log('done', typeof process, typeof require);
    `);
    expect(execution.result.outcome).toBe('success');
    expect(execution.result.stdout).toContain('done undefined undefined');
    expect(execution.result.stdout).not.toContain('object');
  });

  it('prototype pollution inside the guest does not reach the host', async () => {
    const execution = await js(
      'Object.prototype.polluted = "yes"; Array.prototype.push = null; console.log("ok")',
    );
    expect(execution.result.stdout).toBe('ok\n');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await stillServes();
  });
});

describe('class 25: an isolate host killed mid-run', () => {
  it('ends the job with a clear outcome and the next job runs', async () => {
    const submitted = await call(svc.url, 'POST', '/v1/executions', {
      language: 'javascript',
      code: 'for (;;) {}',
      limits: { wall_time_ms: 30_000 },
    });
    const sandbox = svc.service.registry.get('isolate') as unknown as { hostPids(): number[] };
    await new Promise((r) => setTimeout(r, 500));
    for (const pid of sandbox.hostPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const done = await svc.service.queue.wait('local', submitted.body.id, 20_000);
    expect(done.status).toBe('finished');
    expect(done.result?.outcome).toBe('internal_error');
    expect(done.result?.reason).toMatch(/isolate host/);
    await stillServes();
  });
});
