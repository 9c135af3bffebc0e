// The JobQueue contract, both queues: the caller's admit() hook (SubmitInput.admit) runs once per new
// execution before any worker can take it; a refusal forgets the execution and frees its key; a submit with
// the same key waits for the outcome (on a peer instance too, where there is one).
import { AirlockError, type Execution } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { contractQueues, useQueueFixture } from '../../testing/contract-queues.ts';
import { collect, heldAdmit, submitInput, successResult, withAdmit } from '../../testing/fixtures.ts';

const auditDown = () =>
  new AirlockError('audit_unavailable', 'the audit log cannot be written', { retryAfter: 5 });

describe.each(contractQueues())('$name', (queues) => {
  useQueueFixture(queues);

  describe('admit()', () => {
    it('is called once, with the queued execution, before any worker can take the job', async () => {
      const queue = await queues.open();
      const log: string[] = [];
      queue.consume(async () => {
        log.push('started');
        return successResult();
      });
      const held = heldAdmit();
      const input = withAdmit(submitInput('acme'), held.admit);
      const submitted = queue.submit(input);
      await held.entered;
      expect(held.calls).toEqual([`${input.execution.id} queued`]);
      // A worker that could see the job now would start it while admit() waits.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(log).toEqual([]);
      log.push('admitted');
      held.pass();
      const { execution, created } = await submitted;
      expect(created).toBe(true);
      expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
      expect(log).toEqual(['admitted', 'started']);
      expect(held.calls).toHaveLength(1);
    });

    it('when admit throws: submit rethrows, no record, no job, no event, and the key is free again', async () => {
      const queue = await queues.open();
      const ran: string[] = [];
      queue.consume(async (job) => {
        ran.push(job.execution.id);
        return successResult();
      });
      const refusal = auditDown();
      const input = withAdmit(submitInput('acme', { key: 'k', hash: 'h1' }), async () => {
        throw refusal;
      });
      await expect(queue.submit(input)).rejects.toBe(refusal);
      expect(await queue.get('acme', input.execution.id)).toBeUndefined();
      await expect(
        queue.watch('acme', input.execution.id, new AbortController().signal),
      ).rejects.toMatchObject({ code: 'execution_not_found' });
      expect(await queues.stats(queue)).toEqual({ queued: 0, running: 0 });
      expect(await queues.stored(queue)).toBe(0);
      // The key is free: another body under it is a new execution, not a conflict.
      const next = await queue.submit(
        withAdmit(submitInput('acme', { key: 'k', hash: 'h2' }), async () => {}),
      );
      expect(next.created).toBe(true);
      expect(await queues.stored(queue)).toBeGreaterThan(0);
      expect((await queue.wait('acme', next.execution.id, 60_000)).status).toBe('finished');
      expect(ran).toEqual([next.execution.id]);
      const events = await collect(
        await queue.watch('acme', next.execution.id, new AbortController().signal),
      );
      expect(events.map((e) => e.type)).toEqual(['state', 'state', 'result']);
    });

    it('is never called for an Idempotency-Key replay', async () => {
      const queue = await queues.open();
      queue.consume(async () => successResult());
      const admitted: string[] = [];
      const admit = async (execution: Execution) => {
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

    it('a submit with the same key while admit runs (another gateway) waits: a replay once it is admitted', async () => {
      const a = await queues.open();
      const b = await queues.peer(a);
      a.consume(async () => successResult());
      const held = heldAdmit();
      const first = a.submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), held.admit));
      await held.entered;
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
      held.pass();
      const [x, y] = await Promise.all([first, second]);
      expect(x.created).toBe(true);
      expect(y).toEqual({ execution: expect.objectContaining({ id: x.execution.id }), created: false });
      expect(admittedSecond).toEqual([]);
      expect(held.calls).toEqual([`${x.execution.id} queued`]);
    });

    it('a submit with the same key while admit runs waits: accepted itself if the first is refused', async () => {
      const a = await queues.open();
      const b = await queues.peer(a);
      const held = heldAdmit();
      const first = a
        .submit(withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), held.admit))
        .catch((error: unknown) => error);
      await held.entered;
      const secondInput = withAdmit(submitInput('acme', { key: 'k', hash: 'h' }), async () => {});
      const second = b.submit(secondInput);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const refusal = auditDown();
      held.refuse(refusal);
      expect(await first).toBe(refusal);
      const outcome = await second;
      expect(outcome.created).toBe(true);
      expect(outcome.execution.id).toBe(secondInput.execution.id);
    });
  });
});
