// What the in-process queue promises about admit() beyond the JobQueue contract (contract/admit.test.ts): an
// execution being admitted is invisible yet holds its place, and a close meanwhile refuses it.
import { describe, expect, it } from 'vitest';
import { heldAdmit, submitInput, successResult, withAdmit } from '../testing/fixtures.ts';
import { useMemoryQueues } from '../testing/memory-queues.ts';

const newQueue = useMemoryQueues();

describe('MemoryJobQueue admit()', () => {
  it('keeps the execution invisible and not yet waiting until admit resolves', async () => {
    const queue = newQueue();
    queue.consume(async () => successResult());
    const held = heldAdmit();
    const input = withAdmit(submitInput('acme'), held.admit);
    const submitted = queue.submit(input);
    await held.entered;
    expect(await queue.get('acme', input.execution.id)).toBeUndefined();
    await expect(queue.wait('acme', input.execution.id, 1)).rejects.toMatchObject({
      code: 'execution_not_found',
    });
    expect(queue.stats()).toEqual({ queued: 0, running: 0 });
    held.pass();
    const { execution } = await submitted;
    expect((await queue.wait('acme', execution.id, 60_000)).status).toBe('finished');
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
