import { AirlockError } from '@airlock/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SubmitInput } from '../job-queue.ts';
import { collect, submitInput, successResult } from '../test-fixtures.ts';
import { freshNames, QueueHarness, until } from './test-harness.ts';

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

const withAdmit = (input: SubmitInput, admit: NonNullable<SubmitInput['admit']>): SubmitInput => ({
  ...input,
  admit,
});

describe('JetStreamJobQueue admit()', () => {
  it('is called once, before any worker can take the job', async () => {
    const queue = await harness.open(freshNames());
    const log: string[] = [];
    queue.consume(async () => {
      log.push('started');
      return successResult();
    });
    const input = withAdmit(submitInput('acme'), async (execution) => {
      log.push(`admit ${execution.id} ${execution.status}`);
      // A worker that could see the job now would start it while this waits.
      await new Promise((resolve) => setTimeout(resolve, 200));
      log.push('admitted');
    });
    const { execution, created } = await queue.submit(input);
    expect(created).toBe(true);
    expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
    expect(log).toEqual([`admit ${input.execution.id} queued`, 'admitted', 'started']);
  });

  it('when admit throws: submit rethrows, no record, no job, no event, and the key is free again', async () => {
    const queue = await harness.open(freshNames());
    const ran: string[] = [];
    queue.consume(async (job) => {
      ran.push(job.execution.id);
      return successResult();
    });
    const refusal = new AirlockError('audit_unavailable', 'the audit log cannot be written', {
      retryAfter: 5,
    });
    const input = withAdmit(submitInput('acme', { key: 'k', hash: 'h1' }), async () => {
      throw refusal;
    });
    await expect(queue.submit(input)).rejects.toBe(refusal);
    expect(await queue.get('acme', input.execution.id)).toBeUndefined();
    expect(await queue.refreshStats()).toEqual({ queued: 0, running: 0 });
    const next = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h2' }), async () => {}));
    expect(next.created).toBe(true);
    expect((await queue.wait('acme', next.execution.id, 60_000)).status).toBe('finished');
    expect(ran).toEqual([next.execution.id]);
    const events = await collect(await queue.watch('acme', next.execution.id, new AbortController().signal));
    expect(events.map((e) => e.type)).toEqual(['state', 'state', 'result']);
  });

  it('is never called for an Idempotency-Key replay', async () => {
    const queue = await harness.open(freshNames());
    const admitted: string[] = [];
    const admit = async (execution: { id: string }) => {
      admitted.push(execution.id);
    };
    const first = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), admit));
    const replay = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), admit));
    expect(replay.created).toBe(false);
    expect(replay.execution.id).toBe(first.execution.id);
    expect(admitted).toEqual([first.execution.id]);
  });

  it('a full stream after admit forgets the execution and frees its key (queue_full)', async () => {
    const queue = await harness.open(freshNames(), { maxQueued: 1, retryAfterSeconds: 3 });
    await queue.submit(submitInput('t0'));
    const admitted: string[] = [];
    const input = withAdmit(submitInput('t1', { key: 'k', hash: 'h' }), async (execution) => {
      admitted.push(execution.id);
    });
    await expect(queue.submit(input)).rejects.toMatchObject({ code: 'queue_full', retryAfter: 3 });
    expect(admitted).toEqual([input.execution.id]);
    expect(await queue.get('t1', input.execution.id)).toBeUndefined();
    queue.consume(async () => successResult());
    await until(async () => (await queue.refreshStats()).queued === 0);
    const again = await queue.submit(submitInput('t1', { key: 'k', hash: 'h' }));
    expect(again.created).toBe(true);
  });

  it('a submit with the same key while admit runs (another gateway) waits: a replay once it is admitted', async () => {
    const names = freshNames();
    const [a, b] = [await harness.open(names), await harness.open(names)];
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    const first = a.submit(
      withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async () => {
        entered.resolve();
        await gate.promise;
      }),
    );
    await entered.promise;
    const admittedSecond: string[] = [];
    const second = b.submit(
      withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async (execution) => {
        admittedSecond.push(execution.id);
      }),
    );
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(secondDone).toBe(false);
    gate.resolve();
    const [x, y] = await Promise.all([first, second]);
    expect(x.created).toBe(true);
    expect(y.created).toBe(false);
    expect(y.execution.id).toBe(x.execution.id);
    expect(admittedSecond).toEqual([]);
  });

  it('a submit with the same key while admit runs waits: accepted itself if the first is refused', async () => {
    const names = freshNames();
    const [a, b] = [await harness.open(names), await harness.open(names)];
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    const first = a
      .submit(
        withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async () => {
          entered.resolve();
          await gate.promise;
          throw new AirlockError('audit_unavailable', 'the audit log cannot be written', { retryAfter: 5 });
        }),
      )
      .catch((error: unknown) => error);
    await entered.promise;
    const secondInput = withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async () => {});
    const second = b.submit(secondInput);
    await new Promise((resolve) => setTimeout(resolve, 150));
    gate.resolve();
    expect(await first).toMatchObject({ code: 'audit_unavailable' });
    const outcome = await second;
    expect(outcome.created).toBe(true);
    expect(outcome.execution.id).toBe(secondInput.execution.id);
  });
});
