// Every process's audit records of executions, mirrored to one JetStream stream (`AIRLOCK_AUDIT`, subjects
// `airlock.audit.<tenant hash>.<execution id>`, bounded by age and bytes) so any gateway can show one
// execution's records, whichever gateway accepted it and whichever worker ran it. Each process's hash-chained
// file stays the source of truth (`audit:verify` reads the files); the stream is a copy for reading, and a
// record that could not be copied is reported, never retried into a different order.
// Must never return another tenant's records, and never carry more than the sealed record and who wrote it.

import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isStorableId, tenantHash } from './names.ts';
import { StoredPublisher } from './stored-publisher.ts';
import { readStream } from './streams.ts';
import { ensureLogStream } from './topology.ts';

export const AUDIT_STREAM = 'AIRLOCK_AUDIT';

export interface AuditStreamOptions {
  connection: NatsConnection;
  /** How long a record stays readable (AIRLOCK_AUDIT_STREAM_RETENTION_SECONDS, in ms). */
  retentionMs: number;
  /** Bytes of records kept; over it the oldest go first (AIRLOCK_AUDIT_STREAM_RETAINED_BYTES). */
  retainedBytes: number;
  /** @default 'AIRLOCK_AUDIT' */
  stream?: string;
  /** @default 'airlock' */
  subjectPrefix?: string;
}

/** What the stream needs of a sealed audit record (@airlock/audit's AuditRecord); the rest is copied as is. */
export interface AuditRecordLike {
  execution_id: string | null;
  tenant: string;
  seq: number;
}

/** One mirrored record and the process whose log holds it (its chain's seq and hashes are that log's). */
export interface MirroredAuditRecord {
  source: string;
  record: AuditRecordLike & Record<string, unknown>;
}

export class AuditStream {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  /** Copies records without a request each (stored-publisher.ts). */
  readonly #stored: StoredPublisher;
  readonly #stream: string;
  readonly #prefix: string;

  private constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    stream: string,
    prefix: string,
  ) {
    this.#stored = new StoredPublisher(nc);
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#prefix = prefix;
  }

  /** Creates the stream (or brings its limits up to date: the newest configuration wins). */
  static async open(options: AuditStreamOptions): Promise<AuditStream> {
    const stream = options.stream ?? AUDIT_STREAM;
    const prefix = options.subjectPrefix ?? 'airlock';
    const jsm = await jetstreamManager(options.connection);
    await ensureLogStream(jsm, {
      name: stream,
      subject: `${prefix}.audit.>`,
      retentionMs: options.retentionMs,
      retainedBytes: options.retainedBytes,
    });
    return new AuditStream(options.connection, jetstream(options.connection), jsm, stream, prefix);
  }

  #subject(tenant: string, executionId: string): string {
    return `${this.#prefix}.audit.${tenantHash(tenant)}.${executionId}`;
  }

  /**
   * Copies one stored record of an execution to the stream (records of no execution, or of an id that is no
   * subject token, are not copied). The message id is source and seq, so a repeat within the window is stored once.
   */
  async publish(source: string, record: AuditRecordLike): Promise<void> {
    if (record.execution_id === null || !isStorableId(record.execution_id)) return;
    const body = { source, record };
    const subject = this.#subject(record.tenant, record.execution_id);
    await this.#stored.publish(subject, JSON.stringify(body), `${source}.${record.seq}`);
  }

  /** The records of `executionId` that belong to `tenant`, in the order they reached the stream, at most `limit`. */
  async read(tenant: string, executionId: string, limit: number): Promise<MirroredAuditRecord[]> {
    if (!isStorableId(executionId)) return [];
    const found: MirroredAuditRecord[] = [];
    const subject = this.#subject(tenant, executionId);
    await readStream(this.#js, this.#jsm, this.#stream, { filter: subject, max: limit }, (message) => {
      const mirrored = parseMirrored(message.string());
      // The subject names the tenant by hash; the record itself must agree.
      if (mirrored?.record.tenant === tenant && mirrored.record.execution_id === executionId)
        found.push(mirrored);
      return true;
    });
    return found;
  }
}

function parseMirrored(text: string): MirroredAuditRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<MirroredAuditRecord> | null;
    if (typeof value?.source !== 'string' || typeof value.record !== 'object' || value.record === null) {
      return undefined;
    }
    const record = value.record;
    if (typeof record.tenant !== 'string' || typeof record.seq !== 'number') return undefined;
    return { source: value.source, record };
  } catch {
    return undefined;
  }
}
