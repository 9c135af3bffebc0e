// The session snapshots of every tenant on disk: one folder per snapshot under `<data dir>/snapshots` (0700),
// holding the image runsc wrote (checkpoint.img) and its record (meta.json: owner, sha256, the kernel state the
// host needs to speak to the restored interpreter), both 0600. A snapshot is restored only after its image
// hashes to the sha256 recorded when it was taken; anything else is `snapshot_corrupt`. It must never show a
// snapshot to another tenant (that looks exactly like one that does not exist), nor let an id name a path.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, isSnapshotId, Snapshot } from '@airlock/protocol';
import { CHECKPOINT_FILE, type SessionImage } from '@airlock/sandbox';
import type { LifecycleEvents } from '@airlock/store';
import { z } from 'zod';

const META_FILE = 'meta.json';

/** A pause image is the session's own, never listed, and goes when the session resumes or closes. */
const SnapshotRecord = z.object({
  tenant: z.string(),
  purpose: z.enum(['snapshot', 'pause']),
  snapshot: Snapshot,
  kernel: z.object({ key: z.string().regex(/^[0-9a-f]{64}$/), turn: z.number().int().min(0) }),
});
export type SnapshotRecord = z.infer<typeof SnapshotRecord>;

export class SnapshotStore {
  readonly #root: string;
  readonly #events: Pick<LifecycleEvents, 'publish'> | undefined;

  /** `events`: where `snapshot.created` and `snapshot.deleted` go (pause images are no snapshots: none). */
  constructor(root: string, events?: Pick<LifecycleEvents, 'publish'>) {
    this.#root = root;
    this.#events = events;
  }

  #publish(type: 'created' | 'deleted', record: SnapshotRecord): void {
    if (record.purpose !== 'snapshot' || !this.#events) return;
    const { id, session_id, language, backend, size_bytes } = record.snapshot;
    void this.#events.publish({
      type: `snapshot.${type}`,
      tenant: record.tenant,
      subject: id,
      data: { session_id, language, backend, size_bytes },
    });
  }

  /** A new, empty folder for the image of snapshot `id`. */
  async prepare(id: string): Promise<string> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const folder = this.#folder(id);
    await mkdir(folder, { mode: 0o700 });
    return folder;
  }

  /** Records the image in the prepared folder: its size and sha256 now, the files 0600. */
  async commit(
    record: Omit<SnapshotRecord, 'snapshot'> & { snapshot: Omit<Snapshot, 'size_bytes' | 'sha256'> },
  ): Promise<Snapshot> {
    const folder = this.#folder(record.snapshot.id);
    const image = join(folder, CHECKPOINT_FILE);
    await chmod(image, 0o600);
    const { size } = await stat(image);
    const snapshot: Snapshot = { ...record.snapshot, size_bytes: size, sha256: await sha256Of(image) };
    const full: SnapshotRecord = { ...record, snapshot };
    const temporary = join(folder, `${META_FILE}.tmp`);
    await writeFile(temporary, JSON.stringify(full), { mode: 0o600 });
    await rename(temporary, join(folder, META_FILE));
    this.#publish('created', full);
    return snapshot;
  }

  /** The tenant's snapshot (either purpose), or undefined. */
  async get(tenant: string, id: string): Promise<SnapshotRecord | undefined> {
    if (!isSnapshotId(id)) return undefined;
    const parsed = await this.#read(id);
    return parsed?.tenant === tenant && parsed.snapshot.id === id ? parsed : undefined;
  }

  /** The tenant's snapshots (not pause images), oldest first. */
  async list(tenant: string): Promise<Snapshot[]> {
    const names = await readdir(this.#root).catch(() => [] as string[]);
    const records = await Promise.all(names.map((name) => this.get(tenant, name)));
    return records
      .filter((r): r is SnapshotRecord => r?.purpose === 'snapshot')
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

  /** Removes a snapshot's folder (also one never committed). */
  async remove(id: string): Promise<void> {
    if (!isSnapshotId(id)) return;
    const record = await this.#read(id);
    await rm(this.#folder(id), { recursive: true, force: true });
    if (record) this.#publish('deleted', record);
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
