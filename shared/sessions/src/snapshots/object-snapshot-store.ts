// The NATS mode's SnapshotStore: every image in the JetStream Object Store bucket `airlock-snapshots` (file
// storage; the object's name is the snapshot id) and every record in the KV bucket `airlock-snapshot-records`
// (history 1, file storage; key = the snapshot id), so a session paused on one worker is restored on any other.
// A worker checkpoints into a local folder (0700, files 0600) and commit() uploads it; verified() fetches the
// image into a local folder and restores it only once its bytes hash to the sha256 recorded at commit (an object
// replaced, truncated or failing the Object Store's own digest is `snapshot_corrupt`, never restored).
// Commits of one tenant are serialized within a process (two workers at once could both take a tenant's last
// room). It must never show a snapshot to another tenant, nor let an id name a path or a key.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSnapshotId } from '@airlock/protocol';
import { bucketKeys } from '@airlock/queue';
import { CHECKPOINT_FILE, type SessionImage } from '@airlock/sandbox';
import { type JetStreamManager, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  corruptImage,
  type SnapshotDeletion,
  SnapshotRecord,
  SnapshotShelf,
  type SnapshotStoreOptions,
} from './snapshot-store.ts';

/** The Object Store bucket of the images. */
export const SNAPSHOT_IMAGES_BUCKET = 'airlock-snapshots';
/** The KV bucket of the records. */
export const SNAPSHOT_RECORDS_BUCKET = 'airlock-snapshot-records';

export interface ObjectSnapshotStoreOptions extends SnapshotStoreOptions {
  connection: NatsConnection;
  /** This process's folder for images being written or restored (created 0700). */
  localRoot: string;
}

export class ObjectSnapshotStore extends SnapshotShelf {
  readonly #images: ObjectStore;
  readonly #records: KV;
  readonly #jsm: JetStreamManager;
  readonly #root: string;

  private constructor(
    images: ObjectStore,
    records: KV,
    jsm: JetStreamManager,
    options: ObjectSnapshotStoreOptions,
  ) {
    super(options);
    this.#images = images;
    this.#records = records;
    this.#jsm = jsm;
    this.#root = options.localRoot;
  }

  /** Opens (or creates) both buckets. */
  static async open(options: ObjectSnapshotStoreOptions): Promise<ObjectSnapshotStore> {
    const images = await new Objm(options.connection).create(SNAPSHOT_IMAGES_BUCKET, {
      storage: StorageType.File,
    });
    const records = await new Kvm(options.connection).create(SNAPSHOT_RECORDS_BUCKET, {
      history: 1,
      storage: StorageType.File,
    });
    return new ObjectSnapshotStore(images, records, await jetstreamManager(options.connection), options);
  }

  async prepare(id: string): Promise<string> {
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const folder = this.folder(id);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { mode: 0o700 });
    return folder;
  }

  /** Fetches the image into this process's folder (anew each time), then checks its sha256. */
  async verified(record: SnapshotRecord): Promise<SessionImage> {
    const { id } = record.snapshot;
    const folder = await this.prepare(id);
    const fetched = await this.#images.get(id).catch(() => null);
    if (fetched === null) throw corruptImage(id, 'its image is missing');
    const file = createWriteStream(join(folder, CHECKPOINT_FILE), { mode: 0o600 });
    try {
      // The stream fails when the chunks do not hash to the Object Store's own digest of the object.
      await pipeline(Readable.fromWeb(fetched.data as never), file);
      await fetched.error;
    } catch {
      await rm(folder, { recursive: true, force: true });
      throw corruptImage(id, 'its image could not be read whole (the object store digest does not match)');
    }
    try {
      return await this.check(record);
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  async remove(id: string, reason: SnapshotDeletion = 'deleted'): Promise<void> {
    if (!isSnapshotId(id)) return;
    const record = await this.read(id);
    await rm(this.folder(id), { recursive: true, force: true });
    await this.#images.delete(id).catch(() => {});
    await this.#records.delete(id);
    if (record) this.publish('deleted', record, reason);
  }

  /** Removes only this process's local copy of an image (the stored one stays). */
  async dropLocal(id: string): Promise<void> {
    if (isSnapshotId(id)) await rm(this.folder(id), { recursive: true, force: true });
  }

  protected async persist(record: SnapshotRecord): Promise<void> {
    const { id } = record.snapshot;
    const image = createReadStream(join(this.folder(id), CHECKPOINT_FILE));
    await this.#images.put({ name: id }, Readable.toWeb(image) as ReadableStream<Uint8Array>);
    await this.#records.put(id, JSON.stringify(record));
    // The image is in the Object Store now; this process's copy goes (a restore fetches it again).
    await this.dropLocal(id);
  }

  protected async records(): Promise<SnapshotRecord[]> {
    const ids = (await bucketKeys(this.#jsm, SNAPSHOT_RECORDS_BUCKET)).filter(isSnapshotId);
    const records = await Promise.all(ids.map((id) => this.read(id)));
    return records.filter((r, i): r is SnapshotRecord => r !== undefined && r.snapshot.id === ids[i]);
  }

  protected async read(id: string): Promise<SnapshotRecord | undefined> {
    try {
      const entry = await this.#records.get(id);
      if (entry?.operation !== 'PUT') return undefined;
      return SnapshotRecord.parse(entry.json());
    } catch {
      return undefined;
    }
  }

  protected folder(id: string): string {
    if (!isSnapshotId(id)) throw new Error('not a snapshot id');
    return join(this.#root, id);
  }
}
