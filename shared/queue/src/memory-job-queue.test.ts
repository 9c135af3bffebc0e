// What the in-process queue promises beyond the JobQueue contract (contract/): when its worker starts, its
// per-tenant bound, tick-level races of cancel and completion, and a thousand jobs with random cancels.
import type { AirlockError } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { collect, HeldWorker, rejection, seeded, submitInput, successResult } from '../testing/fixtures.ts';
import { useMemoryQueues } from '../testing/memory-queues.ts';
import {
  type CancelRace,
  expectEachEndedOnce,
  expectOneTerminalTransition,
  mixedWorker,
  submitMixedWithCancels,
} from '../testing/terminal-states.ts';

const newQueue = useMemoryQueues();

describe('MemoryJobQueue', () => {
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

  it('keeps an execution its start gate refuses queued, in its place, and starts it after another ends', async () => {
    const queue = newQueue({ concurrency: 4 });
    const worker = new HeldWorker();
    const running = new Map<string, number>();
    queue.gateStarts((e) => (running.get(e.tenant) ?? 0) < 1);
    queue.consume(async (job, context) => {
      const tenant = job.execution.tenant;
      running.set(tenant, (running.get(tenant) ?? 0) + 1);
      try {
        return await worker.run(job, context);
      } finally {
        running.set(tenant, (running.get(tenant) ?? 0) - 1);
      }
    });
    const a1 = await queue.submit(submitInput('a'));
    const a2 = await queue.submit(submitInput('a'));
    const b1 = await queue.submit(submitInput('b'));
    await worker.started(a1.execution.id);
    await worker.started(b1.execution.id);
    expect(worker.runningIds.sort()).toEqual([a1.execution.id, b1.execution.id].sort());
    expect(queue.stats()).toEqual({ queued: 1, running: 2 });
    expect((await queue.get('a', a2.execution.id))?.status).toBe('queued');
    await worker.release(a1.execution.id);
    await worker.started(a2.execution.id);
    await worker.releaseUntilIdle(() => queue.stats());
    expect(worker.startOrder).toEqual([a1.execution.id, b1.execution.id, a2.execution.id]);
  });

  it('has exactly one terminal transition when cancel and completion land on the same tick', async () => {
    const queue = newQueue({ concurrency: 4 });
    const finishedIds: string[] = [];
    queue.onFinished((e) => finishedIds.push(e.id));
    // The worker answers on the very tick its signal aborts, so cancel and completion collide.
    queue.consume(
      (_job, context) =>
        new Promise((resolve) => {
          setImmediate(() => resolve(successResult('done')));
          context.signal.addEventListener('abort', () => resolve(successResult('after abort')));
        }),
    );
    const outcomes: CancelRace[] = [];
    for (let i = 0; i < 200; i++) {
      const { execution } = await queue.submit(submitInput('acme'));
      for (let spin = 0; spin < i % 3; spin++) await new Promise((resolve) => setImmediate(resolve));
      const cancel = await queue.cancel('acme', execution.id).catch((e: AirlockError) => e.code);
      const final = await queue.wait('acme', execution.id, 60_000);
      outcomes.push({ cancel, final });
    }
    expectOneTerminalTransition(outcomes, finishedIds);
  });

  it('brings 1,000 jobs with random cancels each to exactly one terminal state', async () => {
    const queue = newQueue({ concurrency: 8, maxQueued: 1000, cancelGraceMs: 100 });
    const finishedCount = new Map<string, number>();
    queue.onFinished((e) => finishedCount.set(e.id, (finishedCount.get(e.id) ?? 0) + 1));
    const random = seeded(1234);
    queue.consume(mixedWorker(() => new Promise((resolve) => setImmediate(resolve))));
    const { submitted, cancels: cancelResults } = await submitMixedWithCancels(queue, 1000, random, 50);
    const finals = await Promise.all(submitted.map((e) => queue.wait(e.tenant, e.id, 120_000)));
    const canceled = expectEachEndedOnce(finals, cancelResults, finishedCount);
    expect(canceled.size).toBeGreaterThan(100);
    expect(finishedCount.size).toBe(1000);
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    for (const final of finals.slice(0, 50)) {
      const events = await collect(await queue.watch(final.tenant, final.id, new AbortController().signal));
      expect(events.filter((e) => e.type === 'result')).toEqual([{ type: 'result', execution: final }]);
    }
  });
});
