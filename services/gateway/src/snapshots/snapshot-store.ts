// The session snapshots of every tenant on disk: one folder per snapshot under `<data dir>/snapshots` (0700),
// holding the image runsc wrote (checkpoint.img) and its record (meta.json: owner, sha256, the kernel state the
// host needs to speak to the restored interpreter), both 0600. A snapshot is restored only after its image
// hashes to the sha256 recorded when it was taken; anything else is `snapshot_corrupt`. A snapshot past its
// `expires_at` (the retention) is gone for its tenant at once, before the sweeper removes its folder; a pause
// image goes when its session resumes or closes, and is left to the sweeper only once older than any session can
// live (one whose process ended with the session paused). It must never show a snapshot to another
// tenant (that looks exactly like one that does not exist), nor let an id name a path.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, isSnapshotId, Snapshot } from '@airlock/protocol';
import { CHECKPOINT_FILE, type SessionImage } from '@airlock/sandbox';
import type { LifecycleEvents } from '@airlock/store';
import { z } from 'zod';
import type { SnapshotQuotaLimits, SnapshotUsage } from './snapshot-quota.ts';

const META_FILE = 'meta.json';

/** A pause image is the session's own, never listed, and goes when the session resumes or closes. */
const SnapshotRecord = z.object({
  tenant: z.string(),
  purpose: z.enum(['snapshot', 'pause']),
  // Records written before snapshots expired have none: they are kept.
  snapshot: Snapshot.extend({ expires_at: z.string().nullable().default(null) }),
  kernel: z.object({ key: z.string().regex(/^[0-9a-f]{64}$/), turn: z.number().int().min(0) }),
});
export type SnapshotRecord = z.infer<typeof SnapshotRecord>;

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

export class SnapshotStore {
  readonly #root: string;
  readonly #events: Pick<LifecycleEvents, 'publish'> | undefined;
  readonly #retentionMs: number;
  readonly #lifetimeMs: number;
  /** Each tenant's last commit: commits of one tenant run one at a time, so a quota check holds until written. */
  readonly #commits = new Map<string, Promise<unknown>>();
  /** The server's quota per tenant. */
  readonly quota: SnapshotQuotaLimits;

  constructor(root: string, options: SnapshotStoreOptions = {}) {
    this.#root = root;
    this.#events = options.events;
    this.#retentionMs = (options.retentionSeconds ?? 0) * 1000;
    this.#lifetimeMs = (options.sessionLifetimeSeconds ?? 0) * 1000;
    this.quota = options.quota ?? { max_count: Number.MAX_SAFE_INTEGER, max_bytes: Number.MAX_SAFE_INTEGER };
  }

  #publish(type: 'created' | 'deleted', record: SnapshotRecord, reason?: SnapshotDeletion): void {
    if (record.purpose !== 'snapshot' || !this.#events) return;
    const { id, session_id, language, backend, size_bytes } = record.snapshot;
    void this.#events.publish({
      type: `snapshot.${type}`,
      tenant: record.tenant,
      subject: id,
      data: { session_id, language, backend, size_bytes, ...(reason === undefined ? {} : { reason }) },
    });
  }

  /** A new, empty folder for the image of snapshot `id`. */
  async prepare(id: string): Promise<string> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const folder = this.#folder(id);
    await mkdir(folder, { mode: 0o700 });
    return folder;
  }

  /**
   * Records the image in the prepared folder: its size and sha256 now, the files 0600, and (a snapshot) when it
   * expires. `admit` sees what the tenant keeps and the image's size first, under the tenant's lock: when it
   * throws, nothing is recorded (the folder stays, uncommitted, for the caller to use and remove).
   */
  async commit(
    record: Omit<SnapshotRecord, 'snapshot'> & {
      snapshot: Omit<Snapshot, 'size_bytes' | 'sha256' | 'expires_at'>;
    },
    admit?: (usage: SnapshotUsage, size: number) => void,
  ): Promise<Snapshot> {
    const folder = this.#folder(record.snapshot.id);
    const image = join(folder, CHECKPOINT_FILE);
    await chmod(image, 0o600);
    const { size } = await stat(image);
    const sha256 = await sha256Of(image);
    return this.#serially(record.tenant, async () => {
      admit?.(await this.usage(record.tenant), size);
      const expires =
        record.purpose === 'snapshot' && this.#retentionMs > 0
          ? new Date(Date.now() + this.#retentionMs).toISOString()
          : null;
      const snapshot: Snapshot = { ...record.snapshot, size_bytes: size, sha256, expires_at: expires };
      const full: SnapshotRecord = { ...record, snapshot };
      const temporary = join(folder, `${META_FILE}.tmp`);
      await writeFile(temporary, JSON.stringify(full), { mode: 0o600 });
      await rename(temporary, join(folder, META_FILE));
      this.#publish('created', full);
      return snapshot;
    });
  }

  /** The tenant's snapshot (either purpose), or undefined; an expired one is gone already. */
  async get(tenant: string, id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    const parsed = await this.#read(id);
    if (parsed === undefined || this.#expired(parsed, Date.now())) return undefined;
    return parsed.tenant === tenant && parsed.snapshot.id === id ? parsed : undefined;
  }

  /** What the tenant keeps: its snapshots (not expired) and its paused sessions' images. */
  async usage(tenant: string): Promise<SnapshotUsage> {
    const usage: SnapshotUsage = { snapshots: 0, paused: 0, bytes: 0 };
    for (const record of await this.#records()) {
      if (record.tenant !== tenant || this.#expired(record, Date.now())) continue;
      if (record.purpose === 'snapshot') usage.snapshots++;
      else usage.paused++;
      usage.bytes += record.snapshot.size_bytes;
    }
    return usage;
  }

  /**
   * Every tenant's snapshots past their `expires_at` at `nowMs`, and pause images older than a session lives
   * (never the image of a session that may still be paused).
   */
  async expired(nowMs: number): Promise<SnapshotRecord[]> {
    return (await this.#records()).filter((record) => this.#expired(record, nowMs));
  }

  /** The tenant's snapshots (not pause images, not expired), oldest first. */
  async list(tenant: string): Promise<Snapshot[]> {
    const now = Date.now();
    return (await this.#records())
      .filter((r) => r.tenant === tenant && r.purpose === 'snapshot' && !this.#expired(r, now))
      .map((r) => r.snapshot)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** The image to restore, once its bytes hash to the recorded sha256; else `snapshot_corrupt`. */
  async verified(record: SnapshotRecord): Promise<SessionImage> {
    const folder = this.#folder(record.snapshot.id);
    const image = join(folder, CHECKPOINT_FILE);
    const actual = await sha256Of(image).catch(() => null);
    if (actual !== record.snapshot.sha256) {
      throw new AirlockError(
        'snapshot_corrupt',
        `snapshot ${record.snapshot.id} failed its integrity check (${actual === null ? 'its image is missing' : 'sha256 mismatch'}); it is not restored`,
      );
    }
    return { folder, kernel: record.kernel };
  }

  /** Removes a snapshot's folder (also one never committed); `reason` goes with its `snapshot.deleted` event. */
  async remove(id: string, reason: SnapshotDeletion = 'deleted'): Promise<void> {
    if (!isSnapshotId(id)) return;
    const record = await this.#read(id);
    await rm(this.#folder(id), { recursive: true, force: true });
    if (record) this.#publish('deleted', record, reason);
  }

  /** A snapshot past its `expires_at`; a pause image older than a session lives. */
  #expired(record: SnapshotRecord, nowMs: number): boolean {
    if (record.purpose === 'pause') {
      return this.#lifetimeMs > 0 && Date.parse(record.snapshot.created_at) + this.#lifetimeMs <= nowMs;
    }
    const at = record.snapshot.expires_at;
    return at !== null && Date.parse(at) <= nowMs;
  }

  /** Every committed record on disk, of every tenant (expired ones included). */
  async #records(): Promise<SnapshotRecord[]> {
    const ids = (await readdir(this.#root).catch(() => [] as string[])).filter(isSnapshotId);
    const records = await Promise.all(ids.map((id) => this.#read(id)));
    return records.filter((r, i): r is SnapshotRecord => r !== undefined && r.snapshot.id === ids[i]);
  }

  /** Runs `step` after the tenant's earlier commits have settled. */
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

  async #read(id: string): Promise<SnapshotRecord | undefined> {
    try {
      return SnapshotRecord.parse(JSON.parse(await readFile(join(this.#folder(id), META_FILE), 'utf8')));
    } catch {
      return undefined;
    }
  }

  #folder(id: string): string {
    if (!isSnapshotId(id)) throw new Error('not a snapshot id');
    return join(this.#root, id);
  }
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
