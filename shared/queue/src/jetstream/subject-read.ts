// One read of a stream's retained messages on one subject filter, oldest first: a short-lived in-memory consumer
// made for the read and deleted after it (it also expires on its own if this process dies mid-read). For
// reads by subject of small logs kept in JetStream (the audit stream, the webhook delivery log).
// Must never leave a consumer behind on a read that ends, and never read more than asked.

import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';

const NS_PER_MS = 1_000_000;
const FETCH_TIMEOUT_MS = 5_000;

/** The first `max` messages retained on `subject` in `stream`, in stream order. */
export async function readSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  max: number,
): Promise<JsMsg[]> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: subject,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: 30_000 * NS_PER_MS,
  });
  const read: JsMsg[] = [];
  try {
    const wanted = Math.min(info.num_pending, max);
    if (wanted === 0) return read;
    const consumer = await js.consumers.get(stream, info.name);
    for await (const message of await consumer.fetch({ max_messages: wanted, expires: FETCH_TIMEOUT_MS })) {
      read.push(message);
      if (read.length >= wanted) break;
    }
    return read;
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => {});
  }
}
