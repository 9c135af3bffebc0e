import type { ExecutionEvent } from '@airlock/protocol';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, HeldWorker, submitInput, successResult } from '../test-fixtures.ts';
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

describe('JetStreamJobQueue watch', () => {
  it('gives a watcher what it missed, then live events, and ends after the result', async () => {
    const queue = await harness.open(freshNames());
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const { execution } = await queue.submit(submitInput('acme'));
    const held = await worker.started(execution.id);
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

  it('serves many watchers of one execution, from another queue instance too, and detaches them all', async () => {
    const names = freshNames();
    const queue = await harness.open(names);
    const gateway = await harness.open(names);
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
    const jsm = await jetstreamManager(await harness.connect());
    await until(async () => (await jsm.consumers.list(names.eventStream).next()).length === 0);
  });

  it('ends a watch when its signal aborts, without leaking it', async () => {
    const queue = await harness.open(freshNames());
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const { execution } = await queue.submit(submitInput('acme'));
    await worker.started(execution.id);
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

  it('keeps state and result but only the newest output events beyond maxOutputEvents', async () => {
    const queue = await harness.open(freshNames(), { maxOutputEvents: 3 });
    queue.consume(async (_job, context) => {
      for (let i = 0; i < 10; i++) context.output('stdout', `${i}`);
      return successResult();
    });
    const { execution } = await queue.submit(submitInput('acme'));
    await queue.wait('acme', execution.id, 60_000);
    const events = await collect(await queue.watch('acme', execution.id, new AbortController().signal));
    expect(events.map((e) => (e.type === 'output' ? e.data : e.type))).toEqual([
      'state',
      'state',
      '7',
      '8',
      '9',
      'result',
    ]);
  });

  it('splits long output into chunks of at most outputChunkBytes, losing nothing', async () => {
    const queue = await harness.open(freshNames(), { outputChunkBytes: 100 });
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
});

describe('JetStreamJobQueue wait', () => {
  it('answers at once when finished, at the timeout with the current state, or when it finishes', async () => {
    const queue = await harness.open(freshNames());
    const worker = new HeldWorker();
    queue.consume(worker.run);
    const { execution } = await queue.submit(submitInput('acme'));
    await worker.started(execution.id);
    await until(async () => (await queue.get('acme', execution.id))?.status === 'running');
    expect((await queue.wait('acme', execution.id, 20)).status).toBe('running');
    expect((await queue.wait('acme', execution.id, 0)).status).toBe('running');
    const waiting = queue.wait('acme', execution.id, 60_000);
    await worker.release(execution.id);
    const done = await waiting;
    expect(done.status).toBe('finished');
    expect(await queue.wait('acme', execution.id, 60_000)).toEqual(done);
  });
});
