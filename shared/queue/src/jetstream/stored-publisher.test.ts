// The stored publisher on a real nats-server: messages are stored in the order they were published and a
// repeated message id is stored once; a stream's refusal (a message over its size limit), a subject no stream
// takes, and a subject whose only listener never answers each reject that message alone, and close() waits
// for the answers still due.

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { useQueueHarness } from '../../testing/jetstream-harness.ts';
import { StoredPublisher, StoreRefused } from './stored-publisher.ts';

const harness = useQueueHarness('none');

describe('stored publisher', () => {
  it('stores in order, once per message id, and rejects only the messages that were not stored', async () => {
    const nc = await harness().connect();
    const jsm = await jetstreamManager(nc);
    const name = `STORED_${process.pid}_${Date.now()}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`], max_msg_size: 1024 });
    const publisher = new StoredPublisher(nc, 300);
    const stored = Array.from({ length: 50 }, (_, i) => publisher.publish(`${name}.a`, String(i), `m${i}`));
    const repeat = publisher.publish(`${name}.a`, 'again', 'm3');
    // Each refusal is caught as it comes (it may come while the stored ones are awaited), then compared.
    const outcome = (p: Promise<void>) =>
      p.then(
        () => 'stored' as const,
        (error: unknown) => error,
      );
    const tooBig = outcome(publisher.publish(`${name}.a`, 'x'.repeat(2048), 'big'));
    const nowhere = outcome(publisher.publish(`${name}-none.a`, 'lost', 'n'));
    const silent = nc.subscribe(`${name}-silent.a`, { callback: () => {} });
    await nc.flush();
    const unanswered = outcome(publisher.publish(`${name}-silent.a`, 'lost', 's'));
    await Promise.all(stored);
    await repeat;
    expect(await tooBig).toBeInstanceOf(StoreRefused);
    expect(await nowhere).toBeInstanceOf(Error);
    expect(String(await unanswered)).toMatch(/no answer/);
    silent.unsubscribe();

    const messages: string[] = [];
    const js = jetstream(nc);
    const consumer = await js.consumers.get(name);
    for await (const message of await consumer.fetch({ max_messages: 60, expires: 1000 })) {
      messages.push(message.string());
      if (message.info.pending === 0) break;
    }
    expect(messages).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    await publisher.close();
  });

  it('close() waits for the answers still due', async () => {
    const nc = await harness().connect();
    const jsm = await jetstreamManager(nc);
    const name = `STORED_CLOSE_${process.pid}_${Date.now()}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    const publisher = new StoredPublisher(nc);
    let settled = 0;
    for (let i = 0; i < 20; i++)
      void publisher.publish(`${name}.a`, String(i), `m${i}`).then(() => settled++);
    await publisher.close();
    await Promise.resolve();
    expect(settled).toBe(20);
    expect((await jsm.streams.info(name)).state.messages).toBe(20);
  });
});
