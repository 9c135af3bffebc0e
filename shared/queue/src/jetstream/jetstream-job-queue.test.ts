// What the JetStream queue promises beyond the JobQueue contract (../contract/): its own options, watchers
// served by another instance (and their server consumers removed), output split into chunks, and a stream
// that is full after admit().
import type { ExecutionEvent } from '@airlock/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { collect, HeldWorker, submitInput, successResult, until, withAdmit } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { JetStreamJobQueue } from './jetstream-job-queue.ts';

const harness = useQueueHarness('none');

describe('JetStreamJobQueue', () => {
  it('validates its own options, quoting the bad value', async () => {
    const connection = await harness().connect();
    await expect(
      JetStreamJobQueue.open({ connection, ackWaitMs: 5_000, heartbeatMs: 5_000 }),
    ).rejects.toThrow(/heartbeatMs.*below ackWaitMs/);
    await expect(JetStreamJobQueue.open({ connection, names: { bucket: 'has.dot' } })).rejects.toThrow(
      /names.bucket.*`has.dot` \(string\)/,
    );
  });

  it('serves watchers through another queue instance, and removes their consumers from the server', async () => {
    const names = freshNames();
    const queue = await harness().open(names);
    const gateway = await harness().open(names);
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const { execution } = await gateway.submit(submitInput('acme'));
    const held = await worker.started(execution.id);
    const watchers: Array<Promise<ExecutionEvent[]>> = [];
    for (let i = 0; i < 50; i++) {
      const via = i % 2 === 0 ? queue : gateway;
      watchers.push(collect(await via.watch('acme', execution.id, new AbortController().signal)));
    }
    expect(queue.watcherCount() + gateway.watcherCount()).toBe(50);
    held.context.output('stdout', 'chunk');
    await worker.release(execution.id);
    for (const events of await Promise.all(watchers)) {
      expect(events.map((e) => e.type)).toEqual(['state', 'state', 'output', 'result']);
      expect(events.at(-1)).toMatchObject({
        type: 'result',
        execution: { id: execution.id, status: 'finished' },
      });
    }
    expect(queue.watcherCount() + gateway.watcherCount()).toBe(0);
    // Their consumers on the server are gone too.
    const jsm = await jetstreamManager(await harness().connect());
    await until(async () => (await jsm.consumers.list(names.eventStream).next()).length === 0);
  });

  it('splits long output into chunks of at most outputChunkBytes, losing nothing', async () => {
    const queue = await harness().open(freshNames(), { outputChunkBytes: 100 });
    const text = `${'a'.repeat(150)}${'é'.repeat(80)}😀😀${'z'.repeat(30)}`;
    queue.consume(async (_job, context) => {
      context.output('stdout', text);
      return successResult();
    });
    const { execution } = await queue.submit(submitInput('acme'));
    await queue.wait('acme', execution.id, 60_000);
    const events = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
    const chunks = events.flatMap((e) => (e.type === 'output' ? [e.data] : []));
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(100);
    expect(chunks.join('')).toBe(text);
  });

  it('a full stream after admit forgets the execution and frees its key (queue_full)', async () => {
    const queue = await harness().open(freshNames(), { maxQueued: 1, retryAfterSeconds: 3 });
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
});
