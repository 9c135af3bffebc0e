// Where session snapshots are kept, as the sessions use them: the SnapshotStore interface, its record, and what
// every implementation shares (SnapshotShelf: retention, quota usage, listing, events, one commit per tenant at a
// time). Two implementations: folders in the data directory (file-snapshot-store.ts, the embedded mode) and a
// JetStream Object Store with a KV bucket of records (object-snapshot-store.ts, NATS mode). Either way an image is
// restored only after it hashes to the sha256 recorded when it was taken (else `snapshot_corrupt`); a snapshot past
// its `expires_at` is gone for its tenant at once; another tenant's snapshot looks like one that does not exist.

import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, isSnapshotId, Snapshot } from '@airlock/protocol';
import { CHECKPOINT_FILE, fileSha256, type SessionImage } from '@airlock/sandbox';
import type { LifecycleEvents } from '@airlock/store';
import { z } from 'zod';
import type { SnapshotQuotaLimits, SnapshotUsage } from './snapshot-quota.ts';

/** A pause image is the session's own, never listed, and goes when the session resumes or closes. */
export const SnapshotRecord = z.object({
  tenant: z.string(),
  purpose: z.enum(['snapshot', 'pause']),
  // Records written before snapshots expired have none: they are kept.
  snapshot: Snapshot.extend({ expires_at: z.string().nullable().default(null) }),
  kernel: z.object({ key: z.string().regex(/^[0-9a-f]{64}$/), turn: z.number().int().min(0) }),
});
export type SnapshotRecord = z.infer<typeof SnapshotRecord>;

/** A record to commit: the image's size, sha256 and expiry are the store's to add. */
export type NewSnapshotRecord = Omit<SnapshotRecord, 'snapshot'> & {
  snapshot: Omit<Snapshot, 'size_bytes' | 'sha256' | 'expires_at'>;
};

/** Checks an image of `size` bytes against what the tenant keeps (throws to refuse it). */
export type CommitAdmit = (usage: SnapshotUsage, size: number) => void;

/** Why a snapshot was deleted: by its tenant, or by the retention sweeper. */
export type SnapshotDeletion = 'deleted' | 'expired';

export interface SnapshotStoreOptions {
  /** Where `snapshot.created` and `snapshot.deleted` go (pause images are no snapshots: none). */
  events?: Pick<LifecycleEvents, 'publish'>;
  /** How long a snapshot is kept, in seconds; 0 keeps it until it is deleted. @default 0 */
  retentionSeconds?: number;
  /** Each tenant's quota at most (its policy and tokens narrow it). @default no bound */
  quota?: SnapshotQuotaLimits;
  /**
   * The longest a session lives (the lifetime ceiling): a pause image older than this has outlived its session.
   * @default 0: pause images are never swept
   */
  sessionLifetimeSeconds?: number;
}

export interface SnapshotStore {
  /** The server's quota per tenant. */
  readonly quota: SnapshotQuotaLimits;
  /** A new, empty local folder for the image of snapshot `id` (the sandbox writes checkpoint.img there). */
  prepare(id: string): Promise<string>;
  /**
   * Records the image in the prepared folder: its size and sha256 now and (a snapshot) when it expires. `admit`
   * sees what the tenant keeps and the image's size first, one commit of a tenant at a time: when it throws,
   * nothing is recorded (the folder stays, uncommitted, for the caller to use and remove).
   */
  commit(record: NewSnapshotRecord, admit?: CommitAdmit): Promise<Snapshot>;
  /** The tenant's snapshot (either purpose), or undefined; an expired one is gone already. */
  get(tenant: string, id: string): Promise<SnapshotRecord | undefined>;
  /** What the tenant keeps: its snapshots (not expired) and its paused sessions' images. */
  usage(tenant: string): Promise<SnapshotUsage>;
  /** Every tenant's snapshots past their `expires_at` at `nowMs`, and pause images older than a session lives. */
  expired(nowMs: number): Promise<SnapshotRecord[]>;
  /** The tenant's snapshots (not pause images, not expired), oldest first. */
  list(tenant: string): Promise<Snapshot[]>;
  /** A local folder holding the image to restore, once its bytes hash to the recorded sha256; else `snapshot_corrupt`. */
  verified(record: SnapshotRecord): Promise<SessionImage>;
  /** Removes a snapshot (also one never committed); `reason` goes with its `snapshot.deleted` event. */
  remove(id: string, reason?: SnapshotDeletion): Promise<void>;
}

/**
 * What both implementations share: reading, counting and listing records, expiry, events, and the commit of a
 * local image under the tenant's turn. An implementation says where records and images live.
 */
export abstract class SnapshotShelf implements SnapshotStore {
  readonly #events: Pick<LifecycleEvents, 'publish'> | undefined;
  readonly #retentionMs: number;
  readonly #lifetimeMs: number;
  /** Each tenant's last commit: commits of one tenant run one at a time, so a quota check holds until written. */
  readonly #commits = new Map<string, Promise<unknown>>();
  readonly quota: SnapshotQuotaLimits;

  constructor(options: SnapshotStoreOptions) {
    this.#events = options.events;
    this.#retentionMs = (options.retentionSeconds ?? 0) * 1000;
    this.#lifetimeMs = (options.sessionLifetimeSeconds ?? 0) * 1000;
    this.quota = options.quota ?? { max_count: Number.MAX_SAFE_INTEGER, max_bytes: Number.MAX_SAFE_INTEGER };
  }

  abstract prepare(id: string): Promise<string>;
  abstract verified(record: SnapshotRecord): Promise<SessionImage>;
  abstract remove(id: string, reason?: SnapshotDeletion): Promise<void>;
  /** The local folder of snapshot `id` (prepared, or holding a fetched image). */
  protected abstract folder(id: string): string;
  /** Stores the committed record and its image (the image is in `folder(id)`). */
  protected abstract persist(record: SnapshotRecord): Promise<void>;
  /** Every committed record, of every tenant (expired ones included). */
  protected abstract records(): Promise<SnapshotRecord[]>;
  /** The committed record of `id` (a snapshot id), or undefined. */
  protected abstract read(id: string): Promise<SnapshotRecord | undefined>;

  async commit(record: NewSnapshotRecord, admit?: CommitAdmit): Promise<Snapshot> {
    const image = join(this.folder(record.snapshot.id), CHECKPOINT_FILE);
    await chmod(image, 0o600);
    const { size } = await stat(image);
    const sha256 = await fileSha256(image);
    return this.#serially(record.tenant, async () => {
      admit?.(await this.usage(record.tenant), size);
      const expires =
        record.purpose === 'snapshot' && this.#retentionMs > 0
          ? new Date(Date.now() + this.#retentionMs).toISOString()
          : null;
      const snapshot: Snapshot = { ...record.snapshot, size_bytes: size, sha256, expires_at: expires };
      const full: SnapshotRecord = { ...record, snapshot };
      await this.persist(full);
      this.publish('created', full);
      return snapshot;
    });
  }

  async get(tenant: string, id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    const parsed = await this.read(id);
    if (parsed === undefined || this.#expired(parsed, Date.now())) return undefined;
    return parsed.tenant === tenant && parsed.snapshot.id === id ? parsed : undefined;
  }

  async usage(tenant: string): Promise<SnapshotUsage> {
    const usage: SnapshotUsage = { snapshots: 0, paused: 0, bytes: 0 };
    for (const record of await this.records()) {
      if (record.tenant !== tenant || this.#expired(record, Date.now())) continue;
      if (record.purpose === 'snapshot') usage.snapshots++;
      else usage.paused++;
      usage.bytes += record.snapshot.size_bytes;
    }
    return usage;
  }

  async expired(nowMs: number): Promise<SnapshotRecord[]> {
    return (await this.records()).filter((record) => this.#expired(record, nowMs));
  }

  async list(tenant: string): Promise<Snapshot[]> {
    const now = Date.now();
    return (await this.records())
      .filter((r) => r.tenant === tenant && r.purpose === 'snapshot' && !this.#expired(r, now))
      .map((r) => r.snapshot)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** The image in `folder(record's id)`, once it hashes to the recorded sha256; else `snapshot_corrupt`. */
  protected async check(record: SnapshotRecord): Promise<SessionImage> {
    const folder = this.folder(record.snapshot.id);
    const actual = await fileSha256(join(folder, CHECKPOINT_FILE)).catch(() => null);
    if (actual !== record.snapshot.sha256) {
      throw corruptImage(record.snapshot.id, actual === null ? 'its image is missing' : 'sha256 mismatch');
    }
    return { folder, kernel: record.kernel };
  }

  protected publish(type: 'created' | 'deleted', record: SnapshotRecord, reason?: SnapshotDeletion): void {
    if (record.purpose !== 'snapshot' || !this.#events) return;
    const { id, session_id, language, backend, size_bytes } = record.snapshot;
    void this.#events.publish({
      type: `snapshot.${type}`,
      tenant: record.tenant,
      subject: id,
      data: { session_id, language, backend, size_bytes, ...(reason === undefined ? {} : { reason }) },
    });
  }

  /** A snapshot past its `expires_at`; a pause image older than a session lives. */
  #expired(record: SnapshotRecord, nowMs: number): boolean {
    if (record.purpose === 'pause') {
      return this.#lifetimeMs > 0 && Date.parse(record.snapshot.created_at) + this.#lifetimeMs <= nowMs;
    }
    const at = record.snapshot.expires_at;
    return at !== null && Date.parse(at) <= nowMs;
  }

  /** Runs `step` after the tenant's earlier commits (in this process) have settled. */
  async #serially<T>(tenant: string, step: () => Promise<T>): Promise<T> {
    const previous = this.#commits.get(tenant) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(step);
    this.#commits.set(tenant, mine);
    try {
      return await mine;
    } finally {
      if (this.#commits.get(tenant) === mine) this.#commits.delete(tenant);
    }
  }
}

/** The refusal of an image that fails its integrity check: it is never restored. */
export function corruptImage(id: string, why: string): AirlockError {
  return new AirlockError(
    'snapshot_corrupt',
    `snapshot ${id} failed its integrity check (${why}); it is not restored`,
  );
}
