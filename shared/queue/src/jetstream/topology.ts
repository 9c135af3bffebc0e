// The JetStream assets the queue lives in: the work-queue stream of jobs, the stream of events, the KV
// bucket of execution records, and one durable pull consumer per tenant. Creating them is idempotent, so any
// number of gateways and workers may open the queue at once.
// Must never delete or purge an asset, and never weaken the job stream's file storage.

import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ResolvedJetStreamOptions } from './jetstream-options.ts';
import type { QueueNames } from './names.ts';

const NS_PER_MS = 1_000_000;
const DUPLICATE_WINDOW_MS = 120_000;
/** JetStream API error: a stream name is in use with a different configuration. */
const STREAM_CONFIG_DIFFERS = 10058;

/** Creates (or brings up to date) the streams (jobs, events, lifecycle) and opens the KV bucket. */
export async function ensureTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: QueueNames,
  options: ResolvedJetStreamOptions,
): Promise<KV> {
  await ensureFileStream(jsm, names.jobStream, names.allJobs, options.retentionMs, {
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    max_msgs: options.maxQueued,
  });
  await ensureLogStream(jsm, {
    name: names.eventStream,
    subject: names.allEvents,
    retentionMs: options.retentionMs,
    retainedBytes: -1,
    // Output events are bounded per execution, not in total; an event may be as large as the server allows.
    extra: { max_msgs_per_subject: options.maxOutputEvents, max_msg_size: -1 },
  });
  await ensureLogStream(jsm, {
    name: names.lifecycleStream,
    subject: names.allLifecycle,
    retentionMs: options.lifecycleRetentionMs,
    retainedBytes: options.lifecycleRetainedBytes,
  });
  return new Kvm(nc).create(names.bucket, {
    history: 1,
    ttl: options.retentionMs,
    storage: StorageType.File,
  });
}

/** A log kept in a stream: one subject filter, file storage, the oldest dropped past an age or a size. */
export interface LogStream {
  name: string;
  subject: string;
  retentionMs: number;
  /** -1: no bound in bytes. */
  retainedBytes: number;
  /** Further limits of this stream. */
  extra?: Partial<StreamConfig>;
}

/** Creates (or brings up to date) a log stream; a repeated publish within the duplicate window is stored once. */
export function ensureLogStream(jsm: JetStreamManager, log: LogStream): Promise<void> {
  return ensureFileStream(jsm, log.name, log.subject, log.retentionMs, {
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: log.retentionMs * NS_PER_MS,
    max_bytes: log.retainedBytes,
    ...log.extra,
  });
}

/** A stream on file storage over one subject filter, whose duplicate window is at most its retention. */
function ensureFileStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
  retentionMs: number,
  limits: Partial<StreamConfig>,
): Promise<void> {
  return ensureStream(jsm, {
    name,
    subjects: [subject],
    storage: StorageType.File,
    duplicate_window: Math.min(DUPLICATE_WINDOW_MS, retentionMs) * NS_PER_MS,
    ...limits,
  });
}

/** Creates the stream, or updates it when it exists with another configuration (the newest wins). */
async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== STREAM_CONFIG_DIFFERS) throw error;
    // Opened before with other limits (say maxQueued): the newest configuration wins.
    await jsm.streams.update(config.name, config);
  }
}

/** Creates each tenant's durable consumer once per process; creating an existing one is harmless. */
export class TenantConsumers {
  readonly #jsm: JetStreamManager;
  readonly #names: QueueNames;
  readonly #ackWaitMs: number;
  readonly #ensured = new Map<string, Promise<void>>();

  constructor(jsm: JetStreamManager, names: QueueNames, ackWaitMs: number) {
    this.#jsm = jsm;
    this.#names = names;
    this.#ackWaitMs = ackWaitMs;
  }

  ensure(tenant: string): Promise<void> {
    const name = this.#names.consumer(tenant);
    let ensured = this.#ensured.get(name);
    if (!ensured) {
      ensured = this.#create(name, this.#names.jobs(tenant));
      this.#ensured.set(name, ensured);
      ensured.catch(() => this.#ensured.delete(name));
    }
    return ensured;
  }

  async #create(name: string, subject: string): Promise<void> {
    await this.#jsm.consumers.add(this.#names.jobStream, {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.#ackWaitMs * NS_PER_MS,
      // Unlimited: a job is never dropped for being redelivered; the runner decides what a redelivery means.
      max_deliver: -1,
    });
  }
}
