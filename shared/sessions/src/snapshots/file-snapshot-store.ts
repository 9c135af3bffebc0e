// The file implementation of SnapshotStore (snapshot-store.ts), the embedded mode's: one folder per snapshot under
// `<data dir>/snapshots` (0700), holding the image runsc wrote (checkpoint.img) and its record (meta.json: owner,
// sha256, the kernel state the host needs to speak to the restored interpreter), both 0600. A snapshot is restored
// only after its image hashes to the sha256 recorded when it was taken; anything else is `snapshot_corrupt`. A
// snapshot past its `expires_at` (the retention) is gone for its tenant at once, before the sweeper removes its
// folder; a pause image goes when its session resumes or closes, and is left to the sweeper only once older than
// any session can live (one whose process ended with the session paused). It must never show a snapshot to
// another tenant (that looks exactly like one that does not exist), nor let an id name a path.

import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSnapshotId } from '@airlock/protocol';
import type { SessionImage } from '@airlock/sandbox';
import {
  type SnapshotDeletion,
  SnapshotRecord,
  SnapshotShelf,
  type SnapshotStoreOptions,
} from './snapshot-store.ts';

const META_FILE = 'meta.json';

export class FileSnapshotStore extends SnapshotShelf {
  readonly #root: string;

  constructor(root: string, options: SnapshotStoreOptions = {}) {
    super(options);
    this.#root = root;
  }

  async prepare(id: string): Promise<string> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const folder = this.folder(id);
    await mkdir(folder, { mode: 0o700 });
    return folder;
  }

  verified(record: SnapshotRecord): Promise<SessionImage> {
    return this.check(record);
  }

  async remove(id: string, reason: SnapshotDeletion = 'deleted'): Promise<void> {
    if (!isSnapshotId(id)) return;
    const record = await this.read(id);
    await rm(this.folder(id), { recursive: true, force: true });
    if (record) this.publish('deleted', record, reason);
  }

  protected async persist(record: SnapshotRecord): Promise<void> {
    const folder = this.folder(record.snapshot.id);
    const temporary = join(folder, `${META_FILE}.tmp`);
    await writeFile(temporary, JSON.stringify(record), { mode: 0o600 });
    await rename(temporary, join(folder, META_FILE));
  }

  protected async records(): Promise<SnapshotRecord[]> {
    const ids = (await readdir(this.#root).catch(() => [] as string[])).filter(isSnapshotId);
    const records = await Promise.all(ids.map((id) => this.read(id)));
    return records.filter((r, i): r is SnapshotRecord => r !== undefined && r.snapshot.id === ids[i]);
  }

  protected async read(id: string): Promise<SnapshotRecord | undefined> {
    try {
      return SnapshotRecord.parse(JSON.parse(await readFile(join(this.folder(id), META_FILE), 'utf8')));
    } catch {
      return undefined;
    }
  }

  protected folder(id: string): string {
    if (!isSnapshotId(id)) throw new Error('not a snapshot id');
    return join(this.#root, id);
  }
}
