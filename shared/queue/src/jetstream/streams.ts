// The JetStream stream helpers every NATS-mode store shares (the queue's topology and lifecycle log, the
// gateway's webhook streams and logs): creating a stream idempotently, and one bounded read of a stream through
// a short-lived consumer.
// Invariant: ensureStream never deletes or purges: it adds, or updates a stream whose configuration differs (the
// newest configuration wins) and rethrows anything else; readStream always deletes the consumer it made.

import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';

/** Nanoseconds in a millisecond (JetStream durations are in nanoseconds). */
export const NS_PER_MS = 1_000_000;
/** JetStream API error: a stream name is in use with a different configuration. */
const STREAM_CONFIG_DIFFERS = 10058;

/** Creates the stream, or brings one opened before with other limits up to date. */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_CONFIG_DIFFERS) throw error;
    await jsm.streams.update(config.name, config);
  }
}

export interface StreamRead {
  /** The subject filter of the read. */
  filter: string;
  /** Start after this stream sequence; without it, from the first message kept. */
  after?: number;
  /** Messages looked at at most. */
  max: number;
}

/**
 * Hands the messages of `stream` on `read.filter` to `take`, oldest first, until `read.max` were seen, none are
 * left, or `take` answers false. Reads through an in-memory consumer without acks, deleted afterwards.
 */
export async function readStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  read: StreamRead,
  take: (message: JsMsg) => boolean,
): Promise<void> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: read.filter,
    ...(read.after === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: read.after + 1 }),
    ack_policy: AckPolicy.None,
    mem_storage: true,
    inactive_threshold: 30_000 * NS_PER_MS,
  });
  try {
    const wanted = Math.min(read.max, info.num_pending);
    if (wanted === 0) return;
    const consumer = await js.consumers.get(stream, info.name);
    const messages = await consumer.fetch({ max_messages: wanted, expires: 5_000 });
    let seen = 0;
    for await (const message of messages) {
      seen += 1;
      if (!take(message) || seen >= wanted) break;
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => {});
  }
}
