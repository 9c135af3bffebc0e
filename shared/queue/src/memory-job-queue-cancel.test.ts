import { AirlockError, type Execution, type ExecutionResult } from '@airlock/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobWorker } from './job-queue.ts';
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

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof AirlockError ? error.code : `not an AirlockError: ${String(error)}`;
}

/** Resolves with a success result after the signal aborts, as a worker that ignores cancels would. */
const abortThenClaimSuccess: JobWorker = (_job, context) =>
  new Promise((resolve) => {
    context.output('stdout', 'partial');
    context.signal.addEventListener('abort', () => resolve(successResult('partial')), { once: true });
  });

describe('MemoryJobQueue cancel', () => {
  it('finishes a queued execution at once as canceled, without running it', async () => {
    const queue = newQueue({ concurrency: 1 });
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const blocker = await queue.submit(submitInput('acme'));
    const { execution } = await queue.submit(submitInput('acme'));
    await worker.started(blocker.execution.id);
    const canceled = await queue.cancel('acme', execution.id);
    expect(canceled.status).toBe('finished');
    expect(canceled.started_at).toBeNull();
    expect(canceled.result).toMatchObject({
      outcome: 'canceled',
      exit_code: null,
      stdout: '',
      stderr: '',
      reason: 'canceled before start',
    });
    expect(queue.stats()).toEqual({ queued: 0, running: 1 });
    await worker.releaseUntilIdle(() => queue.stats());
    expect(worker.startOrder).toEqual([blocker.execution.id]);
    expect(await queue.get('acme', execution.id)).toEqual(canceled);
  });

  it('aborts a running execution and keeps outcome canceled whatever the worker returns', async () => {
    const queue = newQueue();
    queue.consume(abortThenClaimSuccess);
    const { execution } = await queue.submit(submitInput('acme'));
    const watch = collect(await queue.watch('acme', execution.id, new AbortController().signal));
    while ((await queue.get('acme', execution.id))?.status !== 'running') {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const canceled = await queue.cancel('acme', execution.id);
    expect(canceled.status).toBe('finished');
    expect(canceled.result?.outcome).toBe('canceled');
    expect(canceled.result?.reason).toBe('canceled while running');
    expect(canceled.result?.stdout).toBe('partial');
    const events = await watch;
    expect(events.map((e) => e.type)).toEqual(['state', 'state', 'output', 'result']);
    expect(events.at(-1)).toEqual({ type: 'result', execution: canceled });
  });

  it('finishes a running execution whose worker ignores the abort after the grace period', async () => {
    const queue = newQueue({ cancelGraceMs: 50 });
    const stuck = Promise.withResolvers<ExecutionResult>();
    queue.consume(() => stuck.promise);
    const { execution } = await queue.submit(submitInput('acme'));
    while (queue.stats().running === 0) await new Promise((resolve) => setImmediate(resolve));
    const canceled = await queue.cancel('acme', execution.id);
    expect(canceled.result?.outcome).toBe('canceled');
    expect(canceled.result?.reason).toBe('canceled while running; the worker did not stop within 50 ms');
    // The worker's late answer changes nothing.
    stuck.resolve(successResult('late'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await queue.get('acme', execution.id)).toEqual(canceled);
  });

  it('refuses unknown, foreign and finished executions', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const { execution } = await queue.submit(submitInput('acme'));
    expect(await errorCode(queue.cancel('other', execution.id))).toBe('execution_not_found');
    expect(await errorCode(queue.cancel('acme', 'ex_nope'))).toBe('execution_not_found');
    await queue.wait('acme', execution.id, 60_000);
    expect(await errorCode(queue.cancel('acme', execution.id))).toBe('execution_finished');
  });

  it('has exactly one terminal transition when cancel races completion', async () => {
    const finishedIds: string[] = [];
    const queue = newQueue({ concurrency: 4, onFinished: (e) => finishedIds.push(e.id) });
    // The worker answers on the very tick its signal aborts, so cancel and completion collide.
    queue.consume(
      (_job, context) =>
        new Promise((resolve) => {
          setImmediate(() => resolve(successResult('done')));
          context.signal.addEventListener('abort', () => resolve(successResult('after abort')));
        }),
    );
    const outcomes: Array<{ cancel: Execution | string; final: Execution }> = [];
    for (let i = 0; i < 200; i++) {
      const { execution } = await queue.submit(submitInput('acme'));
      for (let spin = 0; spin < i % 3; spin++) await new Promise((resolve) => setImmediate(resolve));
      const cancel = await queue.cancel('acme', execution.id).catch((e: AirlockError) => e.code);
      const final = await queue.wait('acme', execution.id, 60_000);
      outcomes.push({ cancel, final });
    }
    for (const { cancel, final } of outcomes) {
      expect(final.status).toBe('finished');
      if (typeof cancel === 'string') {
        expect(cancel).toBe('execution_finished');
        expect(final.result?.outcome).toBe('success');
      } else {
        expect(final).toEqual(cancel);
        expect(final.result?.outcome).toBe('canceled');
      }
    }
    // Both sides of the race happened: some cancels won, some completions won.
    expect(outcomes.some((o) => typeof o.cancel === 'string')).toBe(true);
    expect(outcomes.some((o) => o.final.result?.reason === 'canceled while running')).toBe(true);
    expect(finishedIds.length).toBe(200);
    expect(new Set(finishedIds).size).toBe(200);
  });

  it('brings 1,000 jobs with random cancels each to exactly one terminal state', async () => {
    const finishedCount = new Map<string, number>();
    const queue = newQueue({
      concurrency: 8,
      maxQueued: 1000,
      cancelGraceMs: 100,
      onFinished: (e) => finishedCount.set(e.id, (finishedCount.get(e.id) ?? 0) + 1),
    });
    const random = seeded(1234);
    queue.consume(async (job, context) => {
      const kind = job.execution.metadata.kind;
      for (let i = 0; i < Number(job.execution.metadata.ticks); i++) {
        if (context.signal.aborted && kind !== 'stubborn') break;
        context.output('stdout', `tick ${i}\n`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (kind === 'throws') throw new Error('boom');
      if (kind === 'garbage') return { nonsense: true } as never;
      return successResult('ok');
    });
    const kinds = ['normal', 'normal', 'normal', 'throws', 'garbage', 'stubborn'];
    const submitted: Execution[] = [];
    const cancels: Array<Promise<Execution | string>> = [];
    for (let i = 0; i < 1000; i++) {
      const input = submitInput(`tenant-${i % 5}`);
      input.execution.metadata = { kind: kinds[i % kinds.length]!, ticks: String(Math.floor(random() * 5)) };
      const { execution } = await queue.submit(input);
      submitted.push(execution);
      if (random() < 0.3) {
        const target = submitted[Math.floor(random() * submitted.length)]!;
        cancels.push(queue.cancel(target.tenant, target.id).catch((e: AirlockError) => e.code));
      }
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const cancelResults = await Promise.all(cancels);
    const finals = await Promise.all(submitted.map((e) => queue.wait(e.tenant, e.id, 120_000)));
    for (const final of finals) {
      expect(final.status).toBe('finished');
      expect(final.result).not.toBeNull();
      expect(finishedCount.get(final.id)).toBe(1);
    }
    for (const result of cancelResults) {
      if (typeof result === 'string') expect(result).toBe('execution_finished');
      else expect(result.result?.outcome).toBe('canceled');
    }
    // Canceled are exactly the executions some cancel() succeeded on (two cancels may hit one running job).
    const canceled = new Set(finals.filter((f) => f.result?.outcome === 'canceled').map((f) => f.id));
    const cancelIds = new Set(cancelResults.flatMap((r) => (typeof r === 'string' ? [] : [r.id])));
    expect(canceled).toEqual(cancelIds);
    expect(canceled.size).toBeGreaterThan(100);
    expect(finishedCount.size).toBe(1000);
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    for (const final of finals.slice(0, 50)) {
      const events = await collect(await queue.watch(final.tenant, final.id, new AbortController().signal));
      expect(events.filter((e) => e.type === 'result')).toEqual([{ type: 'result', execution: final }]);
    }
  });
});

describe('MemoryJobQueue close', () => {
  it('refuses new work, cancels queued executions and stops running ones', async () => {
    const queue = newQueue({ concurrency: 1 });
    queue.consume(abortThenClaimSuccess);
    const running = await queue.submit(submitInput('acme'));
    const waiting = await queue.submit(submitInput('acme'));
    while (queue.stats().running === 0) await new Promise((resolve) => setImmediate(resolve));
    await queue.close();
    expect(await errorCode(queue.submit(submitInput('acme')))).toBe('shutting_down');
    const stopped = await queue.get('acme', running.execution.id);
    expect(stopped?.result).toMatchObject({ outcome: 'canceled', reason: 'service shutting down' });
    const never = await queue.get('acme', waiting.execution.id);
    expect(never?.started_at).toBeNull();
    expect(never?.result).toMatchObject({
      outcome: 'canceled',
      reason: 'service shutting down',
      exit_code: null,
    });
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    await queue.close();
  });

  it('does not hang on a worker that ignores the abort, nor on a queue that never had a worker', async () => {
    const stuckQueue = newQueue({ cancelGraceMs: 50 });
    const stuck = Promise.withResolvers<ExecutionResult>();
    stuckQueue.consume(() => stuck.promise);
    const { execution } = await stuckQueue.submit(submitInput('acme'));
    while (stuckQueue.stats().running === 0) await new Promise((resolve) => setImmediate(resolve));
    await stuckQueue.close();
    expect((await stuckQueue.get('acme', execution.id))?.result?.reason).toBe(
      'service shutting down; the worker did not stop within 50 ms',
    );
    stuck.resolve(successResult());

    const idle = newQueue();
    const waiting = await idle.submit(submitInput('acme'));
    const closing = idle.close();
    expect(await errorCode(idle.submit(submitInput('acme')))).toBe('shutting_down');
    await closing;
    expect((await idle.get('acme', waiting.execution.id))?.result?.outcome).toBe('canceled');
  });

  it('stays consistent when the onFinished hook throws', async () => {
    const queue = newQueue({
      onFinished: () => {
        throw new Error('audit sink down');
      },
    });
    queue.consume(async () => successResult('fine'));
    const { execution } = await queue.submit(submitInput('acme'));
    expect((await queue.wait('acme', execution.id, 60_000)).result?.stdout).toBe('fine');
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
  });
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
