// The JetStream assets the queue lives in: the work-queue stream of jobs, the stream of events, the KV
// bucket of execution records, and one durable pull consumer per tenant (and per template its jobs need).
// Creating them is idempotent, so any number of gateways and workers may open the queue at once.
// Must never delete or purge an asset, and never weaken the job stream's file storage.

import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ResolvedJetStreamOptions } from './jetstream-options.ts';
import type { QueueNames } from './names.ts';
import { ensureStream, NS_PER_MS } from './streams.ts';

/** Creates (or brings up to date) the streams (jobs, events, lifecycle) and opens the KV bucket. */
export async function ensureTopology(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: QueueNames,
  options: ResolvedJetStreamOptions,
): Promise<KV> {
  await ensureStream(jsm, {
    name: names.jobStream,
    subjects: [names.allJobs],
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    max_msgs: options.maxQueued,
    duplicate_window: duplicateWindowNs(options.retentionMs),
  });
  await ensureStream(
    jsm,
    retainedFor(options.retentionMs, names.eventStream, names.allEvents, {
      max_msgs_per_subject: options.maxOutputEvents,
      max_msg_size: -1,
    }),
  );
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

const DUPLICATE_WINDOW_MS = 120_000;

/** Publishes repeated within this window (never longer than what the stream retains) are stored once. */
function duplicateWindowNs(retentionMs: number): number {
  return Math.min(DUPLICATE_WINDOW_MS, retentionMs) * NS_PER_MS;
}

/** A file stream of `subject` that keeps messages for `ageMs` and drops the oldest, with `limits` on top. */
function retainedFor(
  ageMs: number,
  name: string,
  subject: string,
  limits: Partial<StreamConfig>,
): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: ageMs * NS_PER_MS,
    duplicate_window: duplicateWindowNs(ageMs),
    ...limits,
  };
}

/** A log kept in a stream: one subject filter, file storage, the oldest dropped past an age or a size. */
export interface LogStream {
  name: string;
  subject: string;
  retentionMs: number;
  /** -1: no bound in bytes. */
  retainedBytes: number;
}

/** Creates (or brings up to date) a log stream; a repeated publish within the duplicate window is stored once. */
export function ensureLogStream(jsm: JetStreamManager, log: LogStream): Promise<void> {
  return ensureStream(
    jsm,
    retainedFor(log.retentionMs, log.name, log.subject, { max_bytes: log.retainedBytes }),
  );
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

  /** The consumer of the tenant's jobs, or of its jobs routed by `template`. */
  ensure(tenant: string, template?: string): Promise<void> {
    const name = this.#names.consumer(tenant, template);
    let ensured = this.#ensured.get(name);
    if (!ensured) {
      ensured = this.#create(name, this.#names.jobs(tenant, template));
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
