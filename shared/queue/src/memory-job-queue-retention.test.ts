import { describe, expect, it } from 'vitest';
import { HeldWorker, submitInput, successResult } from '../testing/fixtures.ts';
import { useMemoryQueues } from '../testing/memory-queues.ts';

const newQueue = useMemoryQueues();

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let ms = start;
  return {
    now: () => new Date(ms),
    advance: (by: number) => {
      ms += by;
    },
  };
}

describe('MemoryJobQueue retention', () => {
  it('forgets a finished execution and its idempotency key after retentionMs', async () => {
    const clock = manualClock();
    const queue = newQueue({ retentionMs: 60_000, now: clock.now });
    queue.consume(async () => successResult());
    const { execution } = await queue.submit(submitInput('acme', { key: 'k', hash: 'h' }));
    const done = await queue.wait('acme', execution.id, 60_000);
    expect(done.finished_at).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(59_999);
    expect(await queue.get('acme', execution.id)).toEqual(done);
    clock.advance(1);
    expect(await queue.get('acme', execution.id)).toBeUndefined();
    await expect(queue.wait('acme', execution.id, 1)).rejects.toMatchObject({ code: 'execution_not_found' });
    const again = await queue.submit(submitInput('acme', { key: 'k', hash: 'other body' }));
    expect(again.created).toBe(true);
    expect(again.execution.id).not.toBe(execution.id);
  });

  it('keeps at most maxRetained executions, evicting the oldest finished, never queued or running', async () => {
    const queue = newQueue({ concurrency: 1, maxRetained: 3 });
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { execution } = await queue.submit(submitInput('acme'));
      ids.push(execution.id);
      await worker.release(execution.id);
      await queue.wait('acme', execution.id, 60_000);
    }
    const running = (await queue.submit(submitInput('acme'))).execution.id;
    await worker.started(running);
    const queued = [];
    for (let i = 0; i < 4; i++) queued.push((await queue.submit(submitInput('acme'))).execution.id);
    // Over the bound, every finished one went, oldest first; the running and queued ones stay.
    for (const id of ids) expect(await queue.get('acme', id)).toBeUndefined();
    expect((await queue.get('acme', running))?.status).toBe('running');
    for (const id of queued) expect((await queue.get('acme', id))?.status).toBe('queued');
    await worker.releaseUntilIdle(() => queue.stats());
    // Finishing brings the count back to the bound, keeping the newest.
    const kept = [running, ...queued].filter((id) => worker.startOrder.includes(id));
    expect(kept.length).toBe(5);
    const visible = [];
    for (const id of kept) if (await queue.get('acme', id)) visible.push(id);
    expect(visible).toEqual(kept.slice(-3));
  });

  it('sweeps on its own timer, without any call into the queue', async () => {
    const queue = newQueue({ retentionMs: 10 });
    queue.consume(async () => successResult());
    const { execution } = await queue.submit(submitInput('acme'));
    await queue.wait('acme', execution.id, 60_000);
    expect(queue.retained()).toBe(1);
    // Only retained() is read here: it does not sweep, so only the timer can bring it to 0.
    while (queue.retained() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await queue.get('acme', execution.id)).toBeUndefined();
  });
});
