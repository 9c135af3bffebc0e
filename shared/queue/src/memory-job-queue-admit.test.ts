import { AirlockError } from '@airlock/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubmitInput } from './job-queue.ts';
import { MemoryJobQueue } from './memory-job-queue.ts';
import type { MemoryJobQueueOptions } from './options.ts';
import { queueOptions, submitInput, successResult } from './test-fixtures.ts';

const queues: MemoryJobQueue[] = [];
function newQueue(overrides: Partial<MemoryJobQueueOptions> = {}): MemoryJobQueue {
  const queue = new MemoryJobQueue(queueOptions(overrides));
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

/** An admit() the test settles by hand, recording the executions it was called with. */
function heldAdmit() {
  const calls: string[] = [];
  const gate = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  const admit = async (execution: { id: string }) => {
    calls.push(execution.id);
    entered.resolve();
    await gate.promise;
  };
  return { admit, calls, entered: entered.promise, pass: () => gate.resolve(), refuse: gate.reject };
}

const withAdmit = (input: SubmitInput, admit: NonNullable<SubmitInput['admit']>): SubmitInput => ({
  ...input,
  admit,
});

describe('MemoryJobQueue admit()', () => {
  it('is called once, before any worker starts the job, and the execution is not visible until it resolves', async () => {
    const queue = newQueue();
    const log: string[] = [];
    queue.consume(async () => {
      log.push('started');
      return successResult();
    });
    const held = heldAdmit();
    const input = withAdmit(submitInput('acme'), held.admit);
    const submitted = queue.submit(input);
    await held.entered;
    expect(held.calls).toEqual([input.execution.id]);
    expect(await queue.get('acme', input.execution.id)).toBeUndefined();
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual([]);
    log.push('admitted');
    held.pass();
    const { execution, created } = await submitted;
    expect(created).toBe(true);
    expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
    expect(log).toEqual(['admitted', 'started']);
    expect(held.calls).toHaveLength(1);
  });

  it('when admit throws, forgets the execution: submit rethrows, nothing runs, no event, the key is free', async () => {
    const queue = newQueue();
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
    await expect(queue.watch('acme', input.execution.id, new AbortController().signal)).rejects.toMatchObject(
      {
        code: 'execution_not_found',
      },
    );
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    expect(queue.retained()).toBe(0);
    // The key is free: another body under it is a new execution, not a conflict.
    const next = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h2' }), async () => {}));
    expect(next.created).toBe(true);
    await queue.wait('acme', next.execution.id, 60_000);
    expect(ran).toEqual([next.execution.id]);
  });

  it('is never called for an Idempotency-Key replay', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const admitted: string[] = [];
    const admit = async (execution: { id: string }) => {
      admitted.push(execution.id);
    };
    const first = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), admit));
    const replay = await queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), admit));
    expect(replay).toEqual({
      execution: expect.objectContaining({ id: first.execution.id }),
      created: false,
    });
    expect(admitted).toEqual([first.execution.id]);
  });

  it('a submit with the same key while admit runs waits: a replay if it was admitted', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const held = heldAdmit();
    const first = queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), held.admit));
    await held.entered;
    const second = queue.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), held.admit));
    held.pass();
    const [a, b] = await Promise.all([first, second]);
    expect(a.created).toBe(true);
    expect(b).toEqual({ execution: expect.objectContaining({ id: a.execution.id }), created: false });
    expect(held.calls).toEqual([a.execution.id]);
  });

  it('a submit with the same key while admit runs waits: admitted itself if the first was refused', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const held = heldAdmit();
    const firstInput = withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), held.admit);
    const first = queue.submit(firstInput).catch((error: unknown) => error);
    await held.entered;
    const secondInput = withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async () => {});
    const second = queue.submit(secondInput);
    held.refuse(new Error('refused'));
    expect(await first).toEqual(new Error('refused'));
    const outcome = await second;
    expect(outcome.created).toBe(true);
    expect(outcome.execution.id).toBe(secondInput.execution.id);
  });

  it('counts executions being admitted against maxQueued', async () => {
    const queue = newQueue({ maxQueued: 1 });
    const held = heldAdmit();
    const first = queue.submit(withAdmit(submitInput('a'), held.admit));
    await held.entered;
    await expect(queue.submit(submitInput('b'))).rejects.toMatchObject({ code: 'queue_full' });
    held.pass();
    expect((await first).created).toBe(true);
  });

  it('a queue closed while admit runs refuses the execution with shutting_down and runs nothing', async () => {
    const queue = newQueue();
    const ran: string[] = [];
    queue.consume(async (job) => {
      ran.push(job.execution.id);
      return successResult();
    });
    const held = heldAdmit();
    const input = withAdmit(submitInput('acme'), held.admit);
    const submitted = queue.submit(input).catch((error: unknown) => error);
    await held.entered;
    const closed = queue.close();
    held.pass();
    await closed;
    expect(await submitted).toMatchObject({ code: 'shutting_down' });
    expect(await queue.get('acme', input.execution.id)).toBeUndefined();
    expect(ran).toEqual([]);
  });
});
