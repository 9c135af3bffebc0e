// The JobQueue contract, both queues: how executions are stopped. cancel() of a queued or running execution,
// of a worker that does not stop, of what it may not cancel, and racing the execution's own end; close() and
// drain() refuse new work and end what runs here, and a queued execution is canceled by the in-process queue
// but left to the other instances by a JetStream one. A finished-listener that throws changes nothing.
import type { AirlockError, ExecutionResult } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { contractQueues, useQueueFixture } from '../../testing/contract-queues.ts';
import {
  abortThenClaimSuccess,
  collect,
  errorCode,
  HeldWorker,
  statusOf,
  submitInput,
  successResult,
  until,
} from '../../testing/fixtures.ts';
import { type CancelRace, expectOneTerminalTransition } from '../../testing/terminal-states.ts';

/** A queue that runs one job at a time, on a worker that holds each job until released. */
async function oneHeldLane(queues: Parameters<typeof useQueueFixture>[0]) {
  const queue = await queues.open({ concurrency: 1 });
  const worker = new HeldWorker();
  queue.consume(worker.run);
  return { queue, worker };
}

describe.each(contractQueues())('$name', (queues) => {
  useQueueFixture(queues);

  describe('cancel', () => {
    it('finishes a queued execution at once as canceled, without running it', async () => {
      const { queue, worker } = await oneHeldLane(queues);
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
      expect(queue.stats()).toEqual({ queued: 0, running: 1 });
      await worker.release(blocker.execution.id);
      await queue.wait('acme', blocker.execution.id, 60_000);
      // A canceled job's message (JetStream) is taken and dropped, never run.
      await until(async () => (await queues.stats(queue)).queued === 0);
      expect(worker.startOrder).toEqual([blocker.execution.id]);
      expect(await queue.get('acme', execution.id)).toEqual(canceled);
    });

    it('aborts a running execution and keeps outcome canceled whatever the worker returns', async () => {
      const queue = await queues.open();
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
      const queue = await queues.open({ cancelGraceMs: 50 });
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
      const queue = await queues.open();
      queue.consume(async () => successResult());
      const { execution } = await queue.submit(submitInput('acme'));
      expect(await errorCode(queue.cancel('other', execution.id))).toBe('execution_not_found');
      expect(await errorCode(queue.cancel('acme', 'ex_nope'))).toBe('execution_not_found');
      await queue.wait('acme', execution.id, 60_000);
      expect(await errorCode(queue.cancel('acme', execution.id))).toBe('execution_finished');
    });

    it('has exactly one terminal transition when cancel races completion', async () => {
      const queue = await queues.open({ concurrency: 4 });
      const finishedIds: string[] = [];
      queue.onFinished((e) => finishedIds.push(e.id));
      // The worker answers at once or after a few ms, about when a cancel arrives, so cancel and completion
      // collide. (The in-process queue's collisions within one tick are in memory-job-queue.test.ts.)
      queue.consume((job, context) => {
        const delay = Number(job.execution.metadata.delay);
        if (delay === 0) return Promise.resolve(successResult('done'));
        return new Promise((resolve) => {
          setTimeout(() => resolve(successResult('done')), delay);
          context.signal.addEventListener('abort', () => resolve(successResult('after abort')));
        });
      });
      const outcomes: CancelRace[] = [];
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
      expectOneTerminalTransition(outcomes, finishedIds);
    });
  });

  describe('close', () => {
    it('refuses new work, stops the running job as canceled, and cancels or leaves the queued one', async () => {
      const queue = await queues.open({ concurrency: 1 });
      queue.consume(abortThenClaimSuccess);
      const running = await queue.submit(submitInput('acme'));
      await until(async () => (await statusOf(queue, running.execution)) === 'running');
      const waiting = await queue.submit(submitInput('acme'));
      await queue.close();
      expect(await errorCode(queue.submit(submitInput('acme')))).toBe('shutting_down');
      const stopped = await queue.get('acme', running.execution.id);
      expect(stopped?.result).toMatchObject({ outcome: 'canceled', reason: 'service shutting down' });
      expect(queue.stats().running).toBe(0);
      if (queues.leavesQueuedOnClose) {
        expect(await statusOf(queue, waiting.execution)).toBe('queued');
        // Another worker on the same queue picks up what was left queued.
        const next = await queues.peer(queue);
        next.consume(async () => successResult('picked up'));
        expect((await next.wait('acme', waiting.execution.id, 60_000)).result?.stdout).toBe('picked up');
      } else {
        const never = await queue.get('acme', waiting.execution.id);
        expect(never?.started_at).toBeNull();
        expect(never?.result).toMatchObject({
          outcome: 'canceled',
          reason: 'service shutting down',
          exit_code: null,
        });
        expect(queue.stats()).toEqual({ queued: 0, running: 0 });
      }
      await queue.close();
    });

    it('does not hang on a worker that ignores the abort, nor on a queue that never had a worker', async () => {
      const stuckQueue = await queues.open({ cancelGraceMs: 50 });
      const stuck = Promise.withResolvers<ExecutionResult>();
      stuckQueue.consume(() => stuck.promise);
      const { execution } = await stuckQueue.submit(submitInput('acme'));
      await until(() => stuckQueue.stats().running === 1);
      await stuckQueue.close();
      expect((await stuckQueue.get('acme', execution.id))?.result?.reason).toBe(
        'service shutting down; the worker did not stop within 50 ms',
      );
      stuck.resolve(successResult());

      const idle = await queues.open();
      const waiting = await idle.submit(submitInput('acme'));
      const closing = idle.close();
      expect(await errorCode(idle.submit(submitInput('acme')))).toBe('shutting_down');
      await closing;
      const left = await idle.get('acme', waiting.execution.id);
      if (queues.leavesQueuedOnClose) expect(left?.status).toBe('queued');
      else expect(left?.result?.outcome).toBe('canceled');
    });

    it('stays consistent when a finished-listener throws', async () => {
      const queue = await queues.open();
      queue.onFinished(() => {
        throw new Error('audit sink down');
      });
      const heard: string[] = [];
      queue.onFinished((execution) => heard.push(execution.id));
      queue.consume(async () => successResult('fine'));
      const { execution } = await queue.submit(submitInput('acme'));
      expect((await queue.wait('acme', execution.id, 60_000)).result?.stdout).toBe('fine');
      await until(() => queue.stats().running === 0);
      expect(queue.stats()).toEqual({ queued: 0, running: 0 });
      expect(heard).toEqual([execution.id]);
    });
  });

  describe('drain', () => {
    it('refuses new work, lets the running job finish in time, starts nothing queued, then closes', async () => {
      const { queue, worker } = await oneHeldLane(queues);
      const running = await queue.submit(submitInput('acme'));
      await until(async () => (await statusOf(queue, running.execution)) === 'running');
      const waiting = await queue.submit(submitInput('acme'));
      const drained = queue.drain(60_000);
      expect(await errorCode(queue.submit(submitInput('acme')))).toBe('shutting_down');
      await worker.release(running.execution.id, successResult('finished in time'));
      await drained;
      expect((await queue.get('acme', running.execution.id))?.result).toMatchObject({
        outcome: 'success',
        stdout: 'finished in time',
      });
      expect(worker.startOrder).toEqual([running.execution.id]);
      expect(queue.stats().running).toBe(0);
      const left = await queue.get('acme', waiting.execution.id);
      if (queues.leavesQueuedOnClose) expect(left?.status).toBe('queued');
      else expect(left?.result).toMatchObject({ outcome: 'canceled', reason: 'service shutting down' });
    });

    it('cancels what still runs when the time is up', async () => {
      const queue = await queues.open();
      queue.consume(abortThenClaimSuccess);
      const { execution } = await queue.submit(submitInput('acme'));
      await until(async () => (await statusOf(queue, execution)) === 'running');
      await queue.drain(50);
      expect((await queue.get('acme', execution.id))?.result).toMatchObject({
        outcome: 'canceled',
        reason: 'service shutting down',
        stdout: 'partial',
      });
      expect(await errorCode(queue.submit(submitInput('acme')))).toBe('shutting_down');
    });
  });
});
