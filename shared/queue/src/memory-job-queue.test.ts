import { AirlockError, Execution } from '@airlock/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryJobQueue } from './memory-job-queue.ts';
import type { MemoryJobQueueOptions } from './options.ts';
import { collect, HeldWorker, queueOptions, submitInput, successResult } from './test-fixtures.ts';

const queues: MemoryJobQueue[] = [];
function newQueue(overrides: Partial<MemoryJobQueueOptions> = {}): MemoryJobQueue {
  const queue = new MemoryJobQueue(queueOptions(overrides));
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

async function rejection(promise: Promise<unknown>): Promise<AirlockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AirlockError);
  return error as AirlockError;
}

describe('MemoryJobQueue lifecycle', () => {
  it('runs a job from queued through running to finished, with state and result events', async () => {
    const queue = newQueue();
    queue.consume(async (job, context) => {
      context.output('stdout', 'hello ');
      context.output('stderr', 'warn');
      return successResult(`ran ${job.request.code}`);
    });
    const { execution, created } = await queue.submit(submitInput('acme'));
    expect(created).toBe(true);
    expect(execution.status).toBe('queued');
    const done = await queue.wait('acme', execution.id, 60_000);
    expect(done.status).toBe('finished');
    expect(done.started_at).not.toBeNull();
    expect(done.finished_at).not.toBeNull();
    expect(done.result).toEqual(successResult('ran 1 + 1'));
    expect(Execution.parse(done)).toEqual(done);

    const events = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
    expect(events).toEqual([
      { type: 'state', status: 'queued' },
      { type: 'state', status: 'running' },
      { type: 'output', stream: 'stdout', data: 'hello ' },
      { type: 'output', stream: 'stderr', data: 'warn' },
      { type: 'result', execution: done },
    ]);
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
  });

  it('never starts the worker inside submit: what the caller records after submit comes first', async () => {
    const queue = newQueue();
    const log: string[] = [];
    queue.consume(async () => {
      log.push('started');
      return successResult();
    });
    const { execution } = await queue.submit(submitInput('acme'));
    await Promise.resolve();
    log.push('accepted');
    await queue.wait('acme', execution.id, 60_000);
    // And again while the queue is busy finishing other jobs.
    const first = await queue.submit(submitInput('acme'));
    const second = await queue.submit(submitInput('acme'));
    log.push('accepted 2');
    await queue.wait('acme', first.execution.id, 60_000);
    await queue.wait('acme', second.execution.id, 60_000);
    expect(log).toEqual(['accepted', 'started', 'accepted 2', 'started', 'started']);
  });

  it('keeps jobs queued until a worker is attached, and allows only one worker', async () => {
    const queue = newQueue();
    const { execution } = await queue.submit(submitInput('acme'));
    await new Promise((resolve) => setImmediate(resolve));
    expect((await queue.get('acme', execution.id))?.status).toBe('queued');
    expect(queue.stats()).toEqual({ queued: 1, running: 0 });
    queue.consume(async () => successResult());
    expect(() => queue.consume(async () => successResult())).toThrow(/already attached/);
    expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
  });

  it('never runs more jobs at once than its concurrency', async () => {
    const queue = newQueue({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    queue.consume(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return successResult();
    });
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push((await queue.submit(submitInput(`t${i % 4}`))).execution);
    for (const e of ids) expect((await queue.wait(e.tenant, e.id, 60_000)).status).toBe('finished');
    expect(peak).toBe(3);
  });

  it('is fair: a tenant with 20 queued jobs does not starve another tenant', async () => {
    const queue = newQueue({ concurrency: 1 });
    const worker = new HeldWorker();
    const a = [];
    for (let i = 0; i < 20; i++) a.push((await queue.submit(submitInput('tenant-a'))).execution.id);
    const b = [];
    for (let i = 0; i < 2; i++) b.push((await queue.submit(submitInput('tenant-b'))).execution.id);
    queue.consume(worker.run);
    for (let i = 0; i < 4; i++) await worker.release(await nextStart(worker, i));
    const firstFour = worker.startOrder.slice(0, 4);
    expect(firstFour).toContain(b[0]);
    expect(firstFour).toContain(b[1]);
    await worker.releaseUntilIdle(() => queue.stats());
    expect(new Set(worker.startOrder)).toEqual(new Set([...a, ...b]));
  });

  it('finishes as internal_error when the worker throws or returns garbage', async () => {
    const queue = newQueue();
    const behaviours: Record<string, () => Promise<unknown>> = {
      throws: async () => {
        throw new Error('sandbox backend exploded');
      },
      garbage: async () => ({ outcome: 'success' }),
      nothing: async () => undefined,
      syncThrow: () => {
        throw new TypeError('not even a promise');
      },
    };
    queue.consume((job) => behaviours[job.execution.metadata.behaviour!]!() as never);
    const reasons: Record<string, string | null | undefined> = {};
    for (const behaviour of Object.keys(behaviours)) {
      const input = submitInput('acme');
      input.execution.metadata = { behaviour };
      const { execution } = await queue.submit(input);
      const done = await queue.wait('acme', execution.id, 60_000);
      expect(done.status).toBe('finished');
      expect(done.result?.outcome).toBe('internal_error');
      expect(done.result?.exit_code).toBeNull();
      reasons[behaviour] = done.result?.reason;
    }
    expect(reasons.throws).toBe('worker failed: Error: sandbox backend exploded');
    expect(reasons.garbage).toMatch(/^worker returned an invalid result at /);
    expect(reasons.nothing).toBe('worker returned an invalid result');
    expect(reasons.syncThrow).toBe('worker failed: TypeError: not even a promise');
  });

  it('hides executions from other tenants and returns copies', async () => {
    const queue = newQueue();
    const { execution } = await queue.submit(submitInput('acme'));
    expect(await queue.get('other', execution.id)).toBeUndefined();
    expect(await queue.get('acme', 'ex_unknown')).toBeUndefined();
    const copy = await queue.get('acme', execution.id);
    copy!.status = 'finished';
    copy!.metadata.injected = 'yes';
    expect(await queue.get('acme', execution.id)).toEqual(execution);
    expect((await rejection(queue.wait('other', execution.id, 1))).code).toBe('execution_not_found');
    expect((await rejection(queue.watch('other', execution.id, AbortSignal.abort()))).code).toBe(
      'execution_not_found',
    );
  });
});

describe('MemoryJobQueue idempotency', () => {
  it('returns the first execution for a replay and refuses a different body with the same key', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const first = await queue.submit(submitInput('acme', { key: 'k1', hash: 'h1' }));
    const replay = await queue.submit(submitInput('acme', { key: 'k1', hash: 'h1' }));
    expect(replay.created).toBe(false);
    expect(replay.execution.id).toBe(first.execution.id);
    const conflict = await rejection(queue.submit(submitInput('acme', { key: 'k1', hash: 'h2' })));
    expect(conflict.code).toBe('idempotency_conflict');
    expect(conflict.status).toBe(409);
    // Keys are per tenant: another tenant may use the same key for its own execution.
    const other = await queue.submit(submitInput('other', { key: 'k1', hash: 'h2' }));
    expect(other.created).toBe(true);
    expect(other.execution.id).not.toBe(first.execution.id);
    // After it finishes, a replay returns the finished execution.
    await queue.wait('acme', first.execution.id, 60_000);
    const late = await queue.submit(submitInput('acme', { key: 'k1', hash: 'h1' }));
    expect(late.created).toBe(false);
    expect(late.execution.status).toBe('finished');
  });
});

describe('MemoryJobQueue bounds', () => {
  it('refuses submits beyond maxQueued with queue_full and a retry delay', async () => {
    const queue = newQueue({ maxQueued: 3, retryAfterSeconds: 7 });
    for (let i = 0; i < 3; i++) await queue.submit(submitInput(`t${i}`));
    const full = await rejection(queue.submit(submitInput('t9')));
    expect(full.code).toBe('queue_full');
    expect(full.status).toBe(429);
    expect(full.retryAfter).toBe(7);
    // A replay of an accepted key is still answered when the queue is full.
    const queue2 = newQueue({ maxQueued: 1 });
    const first = await queue2.submit(submitInput('acme', { key: 'k', hash: 'h' }));
    expect((await queue2.submit(submitInput('acme', { key: 'k', hash: 'h' }))).execution.id).toBe(
      first.execution.id,
    );
  });

  it('counts only waiting executions against maxQueued, and bounds each tenant', async () => {
    const queue = newQueue({ concurrency: 1, maxQueued: 2, maxPerTenantQueued: 1 });
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const running = await queue.submit(submitInput('a'));
    await worker.started(running.execution.id);
    await queue.submit(submitInput('a'));
    const perTenant = await rejection(queue.submit(submitInput('a')));
    expect(perTenant.code).toBe('queue_full');
    expect(perTenant.retryAfter).toBe(1);
    await queue.submit(submitInput('b'));
    expect(queue.stats()).toEqual({ queued: 2, running: 1 });
    expect((await rejection(queue.submit(submitInput('c')))).code).toBe('queue_full');
    await worker.releaseUntilIdle(() => queue.stats());
  });

  it('validates its options, quoting the bad value', () => {
    expect(() => new MemoryJobQueue(queueOptions({ concurrency: 0 }))).toThrow(
      'Expected `concurrency` to be an integer from 1 up, got `0` (number)',
    );
    expect(() => new MemoryJobQueue(queueOptions({ maxQueued: '5' as never }))).toThrow(/got `5` \(string\)/);
  });
});

async function nextStart(worker: HeldWorker, index: number): Promise<string> {
  while (worker.startOrder.length <= index) await new Promise((resolve) => setImmediate(resolve));
  return worker.startOrder[index]!;
}
