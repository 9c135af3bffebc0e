// The JobQueue contract, both queues: an execution's way from queued to finished, the worker's slots and
// fairness, a worker that fails, tenants kept apart, the finished-listeners; and what submit() accepts,
// replays and refuses (Idempotency-Key, bounds, options).
import { Execution } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { contractQueues, useQueueFixture } from '../../testing/contract-queues.ts';
import { collect, HeldWorker, rejection, submitInput, successResult, until } from '../../testing/fixtures.ts';

describe.each(contractQueues())('$name', (queues) => {
  useQueueFixture(queues);

  describe('lifecycle', () => {
    it('runs a job from queued through running to finished, and a late watcher sees every event', async () => {
      const queue = await queues.open();
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
      expect(await queue.get('acme', execution.id)).toEqual(done);

      const events = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
      expect(events).toEqual([
        { type: 'state', status: 'queued' },
        { type: 'state', status: 'running' },
        { type: 'output', stream: 'stdout', data: 'hello ' },
        { type: 'output', stream: 'stderr', data: 'warn' },
        { type: 'result', execution: done },
      ]);
      expect(await queues.stats(queue)).toEqual({ queued: 0, running: 0 });
      expect(queue.watcherCount()).toBe(0);
    });

    it('keeps jobs queued until a worker is attached, and allows one worker per queue', async () => {
      const queue = await queues.open();
      const { execution } = await queue.submit(submitInput('acme'));
      await new Promise((resolve) => setImmediate(resolve));
      expect((await queue.get('acme', execution.id))?.status).toBe('queued');
      expect(await queues.stats(queue)).toEqual({ queued: 1, running: 0 });
      queue.consume(async () => successResult());
      expect(() => queue.consume(async () => successResult())).toThrow(/already attached/);
      expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
    });

    it('never runs more jobs at once than its concurrency', async () => {
      const queue = await queues.open({ concurrency: 3 });
      let running = 0;
      let peak = 0;
      // The first jobs are held until three run at once, so the cap is reached however slow the machine is;
      // after that every job runs briefly and the peak must never pass three.
      let opened!: () => void;
      const gate = new Promise<void>((resolve) => {
        opened = resolve;
      });
      queue.consume(async () => {
        running++;
        peak = Math.max(peak, running);
        await gate;
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
        return successResult();
      });
      const submitted = [];
      for (let i = 0; i < 24; i++) submitted.push((await queue.submit(submitInput(`t${i % 4}`))).execution);
      await until(() => running === 3);
      expect((await queues.stats(queue)).queued).toBeGreaterThan(0);
      opened();
      for (const e of submitted) expect((await queue.wait(e.tenant, e.id, 60_000)).status).toBe('finished');
      expect(peak).toBe(3);
    });

    it('is fair: a tenant with 20 queued jobs does not starve another tenant', async () => {
      const queue = await queues.open({ concurrency: 1 });
      const worker = new HeldWorker();
      const a = [];
      for (let i = 0; i < 20; i++) a.push((await queue.submit(submitInput('tenant-a'))).execution.id);
      const b = [];
      for (let i = 0; i < 2; i++) b.push((await queue.submit(submitInput('tenant-b'))).execution.id);
      queue.consume(worker.run);
      for (let i = 0; i < 4; i++) {
        await until(() => worker.startOrder.length > i);
        await worker.release(worker.startOrder[i]!);
      }
      const firstFour = worker.startOrder.slice(0, 4);
      expect(firstFour).toContain(b[0]);
      expect(firstFour).toContain(b[1]);
      for (let i = 4; i < 22; i++) {
        await until(() => worker.startOrder.length > i);
        await worker.release(worker.startOrder[i]!);
      }
      expect(new Set(worker.startOrder)).toEqual(new Set([...a, ...b]));
      expect(worker.startOrder.length).toBe(22);
    });

    it('finishes as internal_error when the worker throws or returns garbage', async () => {
      const queue = await queues.open();
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

    it('hides executions from other tenants on get, wait, watch and cancel, and returns copies', async () => {
      const queue = await queues.open();
      const { execution } = await queue.submit(submitInput('acme'));
      expect(await queue.get('other', execution.id)).toBeUndefined();
      expect(await queue.get('acme', 'ex_unknown')).toBeUndefined();
      expect(await queue.get('acme', 'not.a*valid>id')).toBeUndefined();
      const copy = await queue.get('acme', execution.id);
      copy!.status = 'finished';
      copy!.metadata.injected = 'yes';
      expect(await queue.get('acme', execution.id)).toEqual(execution);
      expect((await rejection(queue.wait('other', execution.id, 1))).code).toBe('execution_not_found');
      expect((await rejection(queue.watch('other', execution.id, AbortSignal.abort()))).code).toBe(
        'execution_not_found',
      );
      expect((await rejection(queue.cancel('other', execution.id))).code).toBe('execution_not_found');
      expect((await queue.get('acme', execution.id))?.status).toBe('queued');
    });
  });

  describe('finished-listeners', () => {
    it('tells each listener once per execution it finishes, with its own copy, until it unsubscribes', async () => {
      const queue = await queues.open();
      const heardFirst: string[] = [];
      const heardSecond: Execution[] = [];
      const stopFirst = queue.onFinished((execution) => {
        heardFirst.push(execution.id);
        execution.metadata.changed = 'by the first listener';
      });
      queue.onFinished((execution) => heardSecond.push(execution));
      queue.consume(async () => successResult('ok'));
      const a = await queue.submit(submitInput('acme'));
      const doneA = await queue.wait('acme', a.execution.id, 60_000);
      // Told before a waiter in this process is answered.
      expect(heardFirst).toEqual([a.execution.id]);
      expect(heardSecond).toEqual([doneA]);
      expect(await queue.get('acme', a.execution.id)).toEqual(doneA);
      stopFirst();
      const b = await queue.submit(submitInput('acme'));
      const doneB = await queue.wait('acme', b.execution.id, 60_000);
      expect(heardFirst).toEqual([a.execution.id]);
      expect(heardSecond).toEqual([doneA, doneB]);
    });
  });

  describe('idempotency', () => {
    it('returns the first execution for a replay and refuses a different body with the same key', async () => {
      const queue = await queues.open();
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

    it('gives concurrent submits of one key one execution', async () => {
      const queue = await queues.open();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => queue.submit(submitInput('acme', { key: 'race', hash: 'h' }))),
      );
      expect(outcomes.filter((o) => o.created).length).toBe(1);
      expect(new Set(outcomes.map((o) => o.execution.id)).size).toBe(1);
      expect(await queues.stats(queue)).toEqual({ queued: 1, running: 0 });
    });
  });

  describe('bounds', () => {
    it('refuses submits beyond maxQueued with queue_full and a retry delay, and still answers replays', async () => {
      const queue = await queues.open({ maxQueued: 3, retryAfterSeconds: 7 });
      const first = await queue.submit(submitInput('t0', { key: 'k', hash: 'h' }));
      for (let i = 1; i < 3; i++) await queue.submit(submitInput(`t${i}`));
      const refused = submitInput('t9', { key: 'refused', hash: 'h' });
      const full = await rejection(queue.submit(refused));
      expect(full.code).toBe('queue_full');
      expect(full.status).toBe(429);
      expect(full.retryAfter).toBe(7);
      // The refused execution does not exist, and its key is free again.
      expect(await queue.get('t9', refused.execution.id)).toBeUndefined();
      expect((await queue.submit(submitInput('t0', { key: 'k', hash: 'h' }))).execution.id).toBe(
        first.execution.id,
      );
      // Once a job has run, there is room again.
      queue.consume(async () => successResult());
      await queue.wait('t0', first.execution.id, 60_000);
      await until(async () => (await queues.stats(queue)).queued < 3);
      const again = await queue.submit(submitInput('t9', { key: 'refused', hash: 'h' }));
      expect(again.created).toBe(true);
    });

    it('validates its options, quoting the bad value', async () => {
      await expect(queues.open({ concurrency: 0 })).rejects.toThrow(
        'Expected `concurrency` to be an integer from 1 up, got `0` (number)',
      );
      await expect(queues.open({ maxQueued: '5' as never })).rejects.toThrow(/got `5` \(string\)/);
    });
  });
});
