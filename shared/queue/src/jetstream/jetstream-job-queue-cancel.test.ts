import { AirlockError, type Execution, type ExecutionResult } from '@airlock/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobWorker } from '../job-queue.ts';
import { collect, HeldWorker, submitInput, successResult } from '../test-fixtures.ts';
import { freshNames, QueueHarness, statusOf, until } from './test-harness.ts';

let harness: QueueHarness;
beforeAll(async () => {
  harness = await QueueHarness.start();
});
afterEach(async () => {
  await harness.closeQueues();
  expect(harness.takeErrors()).toEqual([]);
});
afterAll(async () => {
  await harness?.dispose();
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

describe('JetStreamJobQueue cancel', () => {
  it('finishes a queued execution at once as canceled, without running it', async () => {
    const queue = await harness.open(freshNames(), { concurrency: 1 });
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const blocker = await queue.submit(submitInput('acme'));
    await worker.started(blocker.execution.id);
    const { execution } = await queue.submit(submitInput('acme'));
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
    await worker.release(blocker.execution.id);
    await queue.wait('acme', blocker.execution.id, 60_000);
    // The canceled job's message is taken and dropped, never run.
    await until(async () => (await queue.refreshStats()).queued === 0);
    expect(worker.startOrder).toEqual([blocker.execution.id]);
    expect(await queue.get('acme', execution.id)).toEqual(canceled);
  });

  it('aborts a running execution and keeps outcome canceled whatever the worker returns', async () => {
    const queue = await harness.open(freshNames());
    queue.consume(abortThenClaimSuccess);
    const { execution } = await queue.submit(submitInput('acme'));
    const watch = collect(await queue.watch('acme', execution.id, new AbortController().signal));
    await until(async () => (await statusOf(queue, execution)) === 'running');
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
    const queue = await harness.open(freshNames(), { cancelGraceMs: 50 });
    const stuck = Promise.withResolvers<ExecutionResult>();
    queue.consume(() => stuck.promise);
    const { execution } = await queue.submit(submitInput('acme'));
    await until(async () => (await statusOf(queue, execution)) === 'running');
    const canceled = await queue.cancel('acme', execution.id);
    expect(canceled.result?.outcome).toBe('canceled');
    expect(canceled.result?.reason).toBe('canceled while running; the worker did not stop within 50 ms');
    // The worker's late answer changes nothing.
    stuck.resolve(successResult('late'));
    await until(() => queue.stats().running === 0);
    expect(await queue.get('acme', execution.id)).toEqual(canceled);
  });

  it('refuses unknown, foreign and finished executions', async () => {
    const queue = await harness.open(freshNames());
    queue.consume(async () => successResult());
    const { execution } = await queue.submit(submitInput('acme'));
    expect(await errorCode(queue.cancel('other', execution.id))).toBe('execution_not_found');
    expect(await errorCode(queue.cancel('acme', 'ex_nope'))).toBe('execution_not_found');
    await queue.wait('acme', execution.id, 60_000);
    expect(await errorCode(queue.cancel('acme', execution.id))).toBe('execution_finished');
  });

  it('has exactly one terminal transition when cancel races completion', async () => {
    const finishedIds: string[] = [];
    const queue = await harness.open(freshNames(), {
      concurrency: 4,
      onFinished: (e) => finishedIds.push(e.id),
    });
    // The worker answers about when a cancel arrives, so cancel and completion collide.
    queue.consume(
      (job, context) =>
        new Promise((resolve) => {
          setTimeout(() => resolve(successResult('done')), Number(job.execution.metadata.delay));
          context.signal.addEventListener('abort', () => resolve(successResult('after abort')));
        }),
    );
    const outcomes: Array<{ cancel: Execution | string; final: Execution }> = [];
    const runs = Array.from({ length: 30 }, async (_, i) => {
      const input = submitInput('acme');
      input.execution.metadata = { delay: String(i % 6) };
      const { execution } = await queue.submit(input);
      await until(async () => (await statusOf(queue, execution)) !== 'queued', 1);
      const cancel = await queue.cancel('acme', execution.id).catch((e: AirlockError) => e.code);
      const final = await queue.wait('acme', execution.id, 60_000);
      outcomes.push({ cancel, final });
    });
    await Promise.all(runs);
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
    expect(finishedIds.length).toBe(30);
    expect(new Set(finishedIds).size).toBe(30);
  });
});

describe('JetStreamJobQueue close', () => {
  it('stops the jobs it runs as canceled, leaves queued ones for other workers, refuses new work', async () => {
    const names = freshNames();
    const queue = await harness.open(names, { concurrency: 1 });
    queue.consume(abortThenClaimSuccess);
    const running = await queue.submit(submitInput('acme'));
    await until(async () => (await statusOf(queue, running.execution)) === 'running');
    const waiting = await queue.submit(submitInput('acme'));
    await queue.close();
    expect(await errorCode(queue.submit(submitInput('acme')))).toBe('shutting_down');
    const stopped = await queue.get('acme', running.execution.id);
    expect(stopped?.result).toMatchObject({ outcome: 'canceled', reason: 'service shutting down' });
    expect(queue.stats().running).toBe(0);
    expect(await statusOf(queue, waiting.execution)).toBe('queued');
    // Another worker on the same streams picks up what was left queued.
    const next = await harness.open(names);
    next.consume(async () => successResult('picked up'));
    expect((await next.wait('acme', waiting.execution.id, 60_000)).result?.stdout).toBe('picked up');
    await queue.close();
  });

  it('does not hang on a worker that ignores the abort', async () => {
    const queue = await harness.open(freshNames(), { cancelGraceMs: 50 });
    const stuck = Promise.withResolvers<ExecutionResult>();
    queue.consume(() => stuck.promise);
    const { execution } = await queue.submit(submitInput('acme'));
    await until(() => queue.stats().running === 1);
    await queue.close();
    expect((await queue.get('acme', execution.id))?.result?.reason).toBe(
      'service shutting down; the worker did not stop within 50 ms',
    );
    stuck.resolve(successResult());
  });

  it('stays consistent when the onFinished hook throws', async () => {
    const queue = await harness.open(freshNames(), {
      onFinished: () => {
        throw new Error('audit sink down');
      },
    });
    queue.consume(async () => successResult('fine'));
    const { execution } = await queue.submit(submitInput('acme'));
    expect((await queue.wait('acme', execution.id, 60_000)).result?.stdout).toBe('fine');
    await until(() => queue.stats().running === 0);
  });
});
