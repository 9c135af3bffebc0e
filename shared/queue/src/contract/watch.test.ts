// The JobQueue contract, both queues: watch() replays what a watcher missed and follows live events to the
// result, serves many watchers and leaks none, keeps state and result when output is bounded; wait() answers
// at once, at its timeout, or when the execution finishes.
import type { ExecutionEvent } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { contractQueues, useQueueFixture } from '../../testing/contract-queues.ts';
import { collect, HeldWorker, submitInput, successResult, until } from '../../testing/fixtures.ts';

/** A queue whose worker holds each job, with one execution of acme submitted and started (and held). */
async function startedHeld(queues: Parameters<typeof useQueueFixture>[0]) {
  const queue = await queues.open();
  const worker = new HeldWorker();
  queue.consume(worker.run);
  const { execution } = await queue.submit(submitInput('acme'));
  const held = await worker.started(execution.id);
  return { queue, worker, execution, held };
}

describe.each(contractQueues())('$name', (queues) => {
  useQueueFixture(queues);

  describe('watch', () => {
    it('gives a watcher what it missed, then live events, and ends after the result', async () => {
      const { queue, worker, execution, held } = await startedHeld(queues);
      held.context.output('stdout', 'before');
      const events = collect(await queue.watch('acme', execution.id, new AbortController().signal));
      held.context.output('stderr', 'after');
      await worker.release(execution.id, successResult('before'));
      const done = await queue.wait('acme', execution.id, 60_000);
      expect(await events).toEqual([
        { type: 'state', status: 'queued' },
        { type: 'state', status: 'running' },
        { type: 'output', stream: 'stdout', data: 'before' },
        { type: 'output', stream: 'stderr', data: 'after' },
        { type: 'result', execution: done },
      ]);
      // Output after the end is ignored.
      held.context.output('stdout', 'too late');
      const late = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
      expect(late.filter((e) => e.type === 'output').map((e) => e.data)).toEqual(['before', 'after']);
      expect(queue.watcherCount()).toBe(0);
    });

    it('serves many watchers of one execution, each with its own copies, and detaches them all', async () => {
      const { queue, worker, execution, held } = await startedHeld(queues);
      const watchers: Array<Promise<ExecutionEvent[]>> = [];
      for (let i = 0; i < queues.manyWatchers; i++) {
        watchers.push(collect(await queue.watch('acme', execution.id, new AbortController().signal)));
      }
      expect(queue.watcherCount()).toBe(queues.manyWatchers);
      held.context.output('stdout', 'chunk');
      await worker.release(execution.id);
      const all = await Promise.all(watchers);
      for (const events of all) {
        expect(events.map((e) => e.type)).toEqual(['state', 'state', 'output', 'result']);
        expect(events.at(-1)).toMatchObject({
          type: 'result',
          execution: { id: execution.id, status: 'finished' },
        });
      }
      // Each watcher got its own copy.
      expect(all[0]!.at(-1)).not.toBe(all[1]!.at(-1));
      expect(queue.watcherCount()).toBe(0);
    });

    it('ends a watch when its signal aborts, without leaking it', async () => {
      const { queue, worker, execution } = await startedHeld(queues);
      const controller = new AbortController();
      const iterator = (await queue.watch('acme', execution.id, controller.signal))[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ type: 'state', status: 'queued' });
      expect((await iterator.next()).value).toEqual({ type: 'state', status: 'running' });
      const pending = iterator.next();
      expect(queue.watcherCount()).toBe(1);
      controller.abort();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(queue.watcherCount()).toBe(0);
      // A watcher that never iterates, then aborts, is detached too; so is one that breaks out early.
      const idle = new AbortController();
      await queue.watch('acme', execution.id, idle.signal);
      for await (const _ of await queue.watch('acme', execution.id, new AbortController().signal)) break;
      expect(queue.watcherCount()).toBe(1);
      idle.abort();
      expect(queue.watcherCount()).toBe(0);
      expect(await collect(await queue.watch('acme', execution.id, AbortSignal.abort()))).toEqual([]);
      await worker.release(execution.id);
    });

    it('keeps state and result but only the newest output beyond its bound', async () => {
      const chunk = 'x'.repeat(1000);
      const queue = await queues.open({ keptOutput: { events: 3, bytes: chunk.length + 1 } });
      queue.consume(async (_job, context) => {
        for (let i = 0; i < 10; i++) context.output('stdout', `${i}${chunk}`);
        return successResult();
      });
      const { execution } = await queue.submit(submitInput('acme'));
      await queue.wait('acme', execution.id, 60_000);
      const events = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
      expect(events.map((e) => (e.type === 'output' ? e.data[0] : e.type))).toEqual([
        'state',
        'state',
        '7',
        '8',
        '9',
        'result',
      ]);
    });
  });

  describe('wait', () => {
    it('answers at once when finished, at the timeout with the current state, or when it finishes', async () => {
      const { queue, worker, execution } = await startedHeld(queues);
      await until(async () => (await queue.get('acme', execution.id))?.status === 'running');
      expect((await queue.wait('acme', execution.id, 20)).status).toBe('running');
      expect((await queue.wait('acme', execution.id, 0)).status).toBe('running');
      const waiting = queue.wait('acme', execution.id, 60_000);
      await new Promise((resolve) => setImmediate(resolve));
      await worker.release(execution.id);
      const done = await waiting;
      expect(done.status).toBe('finished');
      expect(await queue.wait('acme', execution.id, 60_000)).toEqual(done);
    });
  });
});
