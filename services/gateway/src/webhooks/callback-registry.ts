// Where a subject's callback (the `callback` of its request: URL and event types) is kept between the request
// that named it and the subject's last lifecycle event. Embedded mode keeps it in memory (bounded); NATS mode in
// a JetStream stream (one message per subject, the last kept, aged out after a TTL), so any gateway routing an
// event finds the callback another gateway accepted, also after that one stopped. Stored before the subject is
// accepted, so no event can be routed before its callback is known. Must never answer a callback to another
// tenant (the caller compares the stored tenant with the event's).

import { type Callback, LifecycleEventType } from '@airlock/protocol';
import { ensureStream, NS_PER_MS } from '@airlock/queue';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';

export interface RegisteredCallback {
  tenant: string;
  url: string;
  events?: readonly LifecycleEventType[] | undefined;
}

export interface CallbackRegistry {
  put(subject: string, callback: RegisteredCallback): Promise<void>;
  get(subject: string): Promise<RegisteredCallback | undefined>;
  /** The subject is done with (its last event routed, or it never came to be). */
  delete(subject: string): Promise<void>;
  /** Whether a deletion after the subject's terminal event is safe (events are routed in order). */
  readonly ordered: boolean;
}

export function registeredCallback(tenant: string, callback: Callback): RegisteredCallback {
  return { tenant, url: callback.url, ...(callback.events ? { events: callback.events } : {}) };
}

/** Subjects with a callback remembered at once in memory; one beyond it gets no callback (and a warning). */
const MAX_REGISTERED = 200_000;

export class MemoryCallbackRegistry implements CallbackRegistry {
  readonly ordered = true;
  readonly #callbacks = new Map<string, RegisteredCallback>();
  readonly #onFull: (subject: string) => void;

  constructor(onFull: (subject: string) => void) {
    this.#onFull = onFull;
  }

  async put(subject: string, callback: RegisteredCallback): Promise<void> {
    if (this.#callbacks.size >= MAX_REGISTERED) return this.#onFull(subject);
    this.#callbacks.set(subject, callback);
  }

  async get(subject: string): Promise<RegisteredCallback | undefined> {
    return this.#callbacks.get(subject);
  }

  async delete(subject: string): Promise<void> {
    this.#callbacks.delete(subject);
  }
}

export const CALLBACK_STREAM = 'AIRLOCK_CALLBACKS';
const CALLBACK_SUBJECTS = 'airlock.callbacks';
const MAX_BYTES = 256 * 1024 * 1024;

const Stored = z.object({
  tenant: z.string(),
  url: z.string(),
  events: z.array(LifecycleEventType).optional(),
});

export class JetStreamCallbackRegistry implements CallbackRegistry {
  /** Gateways route events concurrently: a late `started` may be routed after `finished`, so keep it to its TTL. */
  readonly ordered = false;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  private constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  /** Creates the stream if missing (idempotent); a callback is kept `ttlMs` after it was stored. */
  static async open(nc: NatsConnection, ttlMs: number): Promise<JetStreamCallbackRegistry> {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: CALLBACK_STREAM,
      subjects: [`${CALLBACK_SUBJECTS}.*`],
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      max_age: ttlMs * NS_PER_MS,
      // Over it the oldest callbacks go first.
      max_bytes: MAX_BYTES,
    };
    await ensureStream(jsm, config);
    return new JetStreamCallbackRegistry(jetstream(nc), jsm);
  }

  async put(subject: string, callback: RegisteredCallback): Promise<void> {
    await this.#js.publish(`${CALLBACK_SUBJECTS}.${subject}`, JSON.stringify(callback));
  }

  async get(subject: string): Promise<RegisteredCallback | undefined> {
    const message = await this.#jsm.streams.getMessage(CALLBACK_STREAM, {
      last_by_subj: `${CALLBACK_SUBJECTS}.${subject}`,
    });
    if (!message) return undefined;
    const parsed = Stored.safeParse(message.json());
    return parsed.success ? parsed.data : undefined;
  }

  async delete(subject: string): Promise<void> {
    await this.#jsm.streams.purge(CALLBACK_STREAM, { filter: `${CALLBACK_SUBJECTS}.${subject}` });
  }
}
