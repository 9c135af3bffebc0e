// Which workers are up, over NATS: each worker keeps one entry in the `airlock-workers` KV bucket (its id as
// the key, its WorkerStatus as the value), rewritten every third of its TTL. A worker that stops removes its
// entry; the entry of one that died is dropped by the bucket's max age (at least the longest TTL announced),
// and readers skip any entry older than the TTL it announced, whatever the bucket keeps. Readers list the keys
// with bucketKeys() (never kv.keys(), whose listing a steadily beating worker could make endless).
// Must never delete or purge another worker's entry, and never shorten the bucket's max age.

import { type Worker, WorkerStatus } from '@airlock/protocol';
import { type JetStreamManager, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { bucketKeys } from './bucket-keys.ts';
import { isStorableId, WORKERS_BUCKET } from './names.ts';

const NS_PER_MS = 1_000_000;
/** JetStream API error: no such stream (no worker ever opened the bucket). */

export interface WorkerHeartbeatOptions {
  connection: NatsConnection;
  /** Milliseconds after the last heartbeat that the worker counts as gone; it beats every third of it. */
  ttlMs: number;
  /** @default 'airlock-workers' */
  bucket?: string;
  /** Told when a heartbeat could not be written (the next one retries) or removed. Must not throw. */
  onError?: (error: unknown) => void;
}

/** One worker's entry in the bucket: written at start(), every ttlMs / 3 after, removed by stop(). */
export class WorkerHeartbeat {
  readonly #kv: KV;
  readonly #ttlMs: number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #id: string | undefined;
  #status: (() => Omit<WorkerStatus, 'ttl_ms'>) | undefined;
  #beating: Promise<void> = Promise.resolve();

  private constructor(kv: KV, ttlMs: number, onError: (error: unknown) => void) {
    this.#kv = kv;
    this.#ttlMs = ttlMs;
    this.#onError = onError;
  }

  /** Opens (or creates) the bucket, making sure its max age is at least ttlMs. Writes nothing yet. */
  static async open(options: WorkerHeartbeatOptions): Promise<WorkerHeartbeat> {
    if (!Number.isInteger(options.ttlMs) || options.ttlMs < 300) {
      throw new TypeError(`Expected \`ttlMs\` to be an integer of at least 300, got \`${options.ttlMs}\``);
    }
    const bucket = options.bucket ?? WORKERS_BUCKET;
    const kv = await new Kvm(options.connection).create(bucket, {
      history: 1,
      ttl: options.ttlMs,
      storage: StorageType.File,
    });
    // Opened before by a worker with a shorter TTL: widen the max age, so no entry expires between beats.
    const jsm = await jetstreamManager(options.connection);
    const stream = `KV_${bucket}`;
    const { config } = await jsm.streams.info(stream);
    if (config.max_age > 0 && config.max_age < options.ttlMs * NS_PER_MS) {
      await jsm.streams.update(stream, { ...config, max_age: options.ttlMs * NS_PER_MS });
    }
    return new WorkerHeartbeat(kv, options.ttlMs, options.onError ?? (() => {}));
  }

  /** Writes the first heartbeat (resolves once it is stored), then one every ttlMs / 3 until stop(). */
  async start(status: () => Omit<WorkerStatus, 'ttl_ms'>): Promise<void> {
    if (this.#id !== undefined) throw new Error('the heartbeat has started already');
    const first = { ...status(), ttl_ms: this.#ttlMs };
    if (!isStorableId(first.id))
      throw new TypeError(`Expected a worker id of [A-Za-z0-9_-], got \`${first.id}\``);
    this.#id = first.id;
    this.#status = status;
    await this.#kv.put(first.id, JSON.stringify(first));
    this.#timer = setInterval(() => void this.beat(), Math.floor(this.#ttlMs / 3));
    this.#timer.unref();
  }

  /**
   * Writes a heartbeat now, after any in flight (a change the readers should see at once, such as the start
   * of a drain). Resolves when it is stored or reported to onError; does nothing before start() or after stop().
   */
  beat(): Promise<void> {
    const id = this.#id;
    const status = this.#status;
    if (id === undefined || status === undefined) return this.#beating;
    this.#beating = this.#beating
      .then(() => this.#kv.put(id, JSON.stringify({ ...status(), id, ttl_ms: this.#ttlMs })))
      .then(
        () => {},
        (error: unknown) => this.#onError(error),
      );
    return this.#beating;
  }

  /**
   * Stops beating and removes the entry: the worker is gone from every list at once. When NATS cannot be
   * reached the removal is reported to onError, and the entry drops out after the TTL instead.
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const id = this.#id;
    // Cleared before the wait, so no beat is queued behind the removal.
    this.#id = undefined;
    this.#status = undefined;
    await this.#beating;
    if (id === undefined) return;
    await this.#kv.purge(id).catch((error: unknown) => this.#onError(error));
  }
}

export interface WorkerRosterOptions {
  connection: NatsConnection;
  /** @default 'airlock-workers' */
  bucket?: string;
  /** Told about an entry that is not a worker's heartbeat (skipped). Must not throw. */
  onError?: (error: unknown, key: string) => void;
  /** @default () => new Date() */
  now?: () => Date;
}

/** The workers whose heartbeat is fresh, read from the bucket on each call. */
export class WorkerRoster {
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  readonly #bucket: string;
  readonly #onError: (error: unknown, key: string) => void;
  readonly #now: () => Date;

  private constructor(kv: KV, jsm: JetStreamManager, options: WorkerRosterOptions) {
    this.#kv = kv;
    this.#jsm = jsm;
    this.#bucket = options.bucket ?? WORKERS_BUCKET;
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? (() => new Date());
  }

  /** Binds to the bucket without creating it: before any worker started, the list is empty. */
  static async open(options: WorkerRosterOptions): Promise<WorkerRoster> {
    const kv = await new Kvm(options.connection).open(options.bucket ?? WORKERS_BUCKET);
    return new WorkerRoster(kv, await jetstreamManager(options.connection), options);
  }

  /** Every worker with a heartbeat younger than its TTL, oldest first. */
  async list(): Promise<Worker[]> {
    // Each key once, as the stream holds it now (a removed entry's purge marker is skipped below).
    const keys = await bucketKeys(this.#jsm, this.#bucket);
    const now = this.#now().getTime();
    const workers: Worker[] = [];
    for (const key of keys) {
      const entry = await this.#kv.get(key);
      if (entry?.operation !== 'PUT') continue;
      const parsed = parseStatus(entry.string());
      if (!parsed.success || parsed.data.id !== key) {
        this.#onError(parsed.success ? new Error('the entry names another worker') : parsed.error, key);
        continue;
      }
      if (now - entry.created.getTime() > parsed.data.ttl_ms) continue;
      workers.push({ ...parsed.data, last_seen: entry.created.toISOString() });
    }
    return workers.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id));
  }
}

function parseStatus(text: string) {
  try {
    return WorkerStatus.safeParse(JSON.parse(text));
  } catch (error) {
    return { success: false as const, error };
  }
}
