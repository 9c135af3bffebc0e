// The two SnapshotStore implementations through one suite: folders in a data directory (embedded mode), and the
// JetStream Object Store with a KV bucket of records on a real nats-server (NATS mode). Quotas, retention, the
// sweeper, and the integrity check of an image before it is restored behave the same in both.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { newSnapshotId } from '@airlock/protocol';
import { CHECKPOINT_FILE } from '@airlock/sandbox';
import { type NatsServer, startNatsServer } from '@airlock/testing';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSnapshotStore } from './file-snapshot-store.ts';
import {
  ObjectSnapshotStore,
  SNAPSHOT_IMAGES_BUCKET,
  SNAPSHOT_RECORDS_BUCKET,
} from './object-snapshot-store.ts';
import { ensureRoom, quotaFor } from './snapshot-quota.ts';
import type { SnapshotRecord, SnapshotStore, SnapshotStoreOptions } from './snapshot-store.ts';
import { SnapshotSweeper } from './snapshot-sweeper.ts';

let root: string;
let events: { type: string; tenant: string; subject: string; data: Record<string, unknown> }[];
let nats: NatsServer | undefined;
let nc: NatsConnection | undefined;

interface Kind {
  name: string;
  /** A store over this test's storage (each store of a test sees the same snapshots). */
  make(options: SnapshotStoreOptions): Promise<SnapshotStore>;
  /** The snapshot ids whose image is stored. */
  stored(): Promise<string[]>;
  /** Changes one byte of a stored image. */
  corrupt(id: string): Promise<void>;
}

const KINDS: Kind[] = [
  {
    name: 'files in the data directory',
    make: async (options) => new FileSnapshotStore(root, options),
    stored: async () => (await readdir(root)).sort(),
    corrupt: async (id) => {
      const image = join(root, id, CHECKPOINT_FILE);
      const bytes = await readFile(image);
      bytes[0]! ^= 0xff;
      await writeFile(image, bytes);
    },
  },
  {
    name: 'the JetStream Object Store',
    make: async (options) =>
      ObjectSnapshotStore.open({ connection: nc!, localRoot: join(root, 'local'), ...options }),
    stored: async () => {
      const images = await new Objm(nc!).open(SNAPSHOT_IMAGES_BUCKET);
      const names = (await images.list()).filter((i) => !i.deleted).map((i) => i.name);
      // Every stored image has its record, and nothing else has one.
      const records = await new Kvm(nc!).open(SNAPSHOT_RECORDS_BUCKET);
      const keys: string[] = [];
      for await (const key of await records.keys()) keys.push(key);
      expect(keys.sort()).toEqual(names.sort());
      return names.sort();
    },
    corrupt: async (id) => {
      const images = await new Objm(nc!).open(SNAPSHOT_IMAGES_BUCKET);
      const bytes = Uint8Array.from((await images.getBlob(id))!);
      bytes[0]! ^= 0xff;
      await images.putBlob({ name: id }, bytes);
    },
  },
];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlock-snapshot-store-'));
  events = [];
});
afterEach(async () => {
  await nc?.close();
  await nats?.[Symbol.asyncDispose]();
  nc = undefined;
  nats = undefined;
  await rm(root, { recursive: true, force: true });
});

/** An image of `size` bytes committed as `purpose` for `tenant`, through `admit` when given. */
async function take(
  store: SnapshotStore,
  { tenant = 'acme', size = 100, purpose = 'snapshot' as SnapshotRecord['purpose'] } = {},
  admit?: Parameters<SnapshotStore['commit']>[1],
) {
  const id = newSnapshotId();
  const folder = await store.prepare(id);
  await writeFile(join(folder, CHECKPOINT_FILE), Buffer.alloc(size, 7));
  const snapshot = {
    id,
    session_id: 'ses_AAAAAAAAAAAAAAAAAAAAAA',
    language: 'python' as const,
    backend: 'gvisor' as const,
    memory_mb: 128,
    created_at: new Date().toISOString(),
  };
  const kernel = { key: 'a'.repeat(64), turn: 1 };
  return store.commit({ tenant, purpose, kernel, snapshot }, admit);
}

describe.each(KINDS)('SnapshotStore on $name', (kind) => {
  beforeEach(async () => {
    if (kind.name === 'files in the data directory') return;
    nats = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: nats.url });
  });

  const storeOf = (options: { retentionSeconds?: number; max_count?: number } = {}) =>
    kind.make({
      events: { publish: async (event) => void events.push(event) },
      quota: { max_count: options.max_count ?? 2, max_bytes: 1000 },
      ...(options.retentionSeconds === undefined ? {} : { retentionSeconds: options.retentionSeconds }),
    });

  it('restores an image only while it hashes to its recorded sha256', async () => {
    const store = await storeOf();
    const taken = await take(store, { size: 300 });
    const record = (await store.get('acme', taken.id))!;
    expect(await store.get('globex', taken.id)).toBeUndefined();
    const image = await store.verified(record);
    expect((await readFile(join(image.folder, CHECKPOINT_FILE))).length).toBe(300);
    expect(image.kernel).toEqual(record.kernel);
    await kind.corrupt(taken.id);
    await expect(store.verified(record)).rejects.toMatchObject({
      code: 'snapshot_corrupt',
      message: `snapshot ${taken.id} failed its integrity check (sha256 mismatch); it is not restored`,
    });
    await store.remove(taken.id);
    await expect(store.verified(record)).rejects.toMatchObject({ code: 'snapshot_corrupt' });
    expect(await kind.stored()).toEqual([]);
  });

  describe('quotas', () => {
    it("counts a tenant's snapshots and pause images, and its bytes; other tenants apart", async () => {
      const store = await storeOf();
      await take(store, { size: 300 });
      await take(store, { size: 200, purpose: 'pause' });
      await take(store, { tenant: 'globex', size: 999 });
      expect(await store.usage('acme')).toEqual({ snapshots: 1, paused: 1, bytes: 500 });
      expect(await store.usage('globex')).toEqual({ snapshots: 1, paused: 0, bytes: 999 });
      const quota = quotaFor(store.quota, { max_count: 5 });
      expect(quota).toEqual({ max_count: 2, max_bytes: 1000 });
      const usage = await store.usage('acme');
      expect(() => ensureRoom('acme', quota, usage)).toThrow(
        expect.objectContaining({
          code: 'snapshot_quota_exceeded',
          message:
            "tenant acme's snapshot quota is 2 snapshots; it holds 2 (1 snapshots and 1 paused sessions' images, 500 bytes): delete a snapshot first",
        }),
      );
    });

    it('lets one of two commits at once take the last room; the other records nothing', async () => {
      const store = await storeOf({ max_count: 10 });
      await take(store, { size: 600 });
      const quota = quotaFor(store.quota, {});
      const admit: Parameters<SnapshotStore['commit']>[1] = (usage, size) =>
        ensureRoom('acme', quota, usage, size);
      const results = await Promise.allSettled([
        take(store, { size: 300 }, admit),
        take(store, { size: 300 }, admit),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.reason).toMatchObject({
        code: 'snapshot_quota_exceeded',
        message: expect.stringContaining('quota is 1000 bytes; it holds 2 (2 snapshots'),
      });
      expect(await store.usage('acme')).toEqual({ snapshots: 2, paused: 0, bytes: 900 });
      expect(events.filter((e) => e.type === 'snapshot.created')).toHaveLength(2);
    });
  });

  describe('retention and the sweeper', () => {
    it('keeps snapshots without a retention, and a pause image as long as a session can live', async () => {
      const kept = await take(await storeOf());
      expect(kept.expires_at).toBeNull();
      const store = await kind.make({ retentionSeconds: 60, sessionLifetimeSeconds: 3600 });
      const snapshot = await take(store);
      expect(Date.parse(snapshot.expires_at ?? '')).toBeGreaterThan(Date.parse(snapshot.created_at));
      const pause = await take(store, { purpose: 'pause' });
      expect(pause.expires_at).toBeNull();
      const later = Date.parse(snapshot.expires_at ?? '') + 1;
      expect((await store.expired(later)).map((r) => r.snapshot.id)).toEqual([snapshot.id]);
      const outlived = Date.parse(pause.created_at) + 3600 * 1000;
      expect((await store.expired(outlived)).map((r) => r.snapshot.id).sort()).toEqual(
        [snapshot.id, pause.id].sort(),
      );
      // A store that sweeps no pause images still honours the `expires_at` a snapshot was written with.
      expect((await (await storeOf()).expired(outlived)).map((r) => r.snapshot.id)).toEqual([snapshot.id]);
    });

    it('deletes expired snapshots with their event and audit record (reason expired), and only those', async () => {
      const store = await kind.make({
        events: { publish: async (event) => void events.push(event) },
        retentionSeconds: 60,
      });
      const kept = await take(await storeOf());
      const pause = await take(store, { purpose: 'pause' });
      const auditPath = join(await mkdtemp(join(tmpdir(), 'airlock-sweeper-audit-')), 'audit.jsonl');
      const audit = await FileAuditLog.open(auditPath);
      const written = async () =>
        (await readFile(auditPath, 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line));
      const sweeper = new SnapshotSweeper({ store, audit, logger: console, intervalMs: 3_600_000 });
      await sweeper.sweep();
      expect(await written()).toEqual([]);
      // Expiry at once: a retention the store measures from the commit, here already past.
      const expiring = await kind.make({
        events: { publish: async (event) => void events.push(event) },
        retentionSeconds: 1e-9,
      });
      const gone = await take(expiring, { tenant: 'globex' });
      expect(await store.get('globex', gone.id)).toBeUndefined();
      expect(await sweeper.sweep()).toBe(1);
      await sweeper.close();
      expect(await kind.stored()).toEqual([kept.id, pause.id].sort());
      expect(await written()).toEqual([
        expect.objectContaining({
          type: 'snapshot',
          tenant: 'globex',
          subject: null,
          detail: expect.objectContaining({ op: 'delete', snapshot_id: gone.id, reason: 'expired' }),
        }),
      ]);
      expect(events.filter((e) => e.subject === gone.id).map((e) => [e.type, e.data.reason])).toEqual([
        ['snapshot.created', undefined],
        ['snapshot.deleted', 'expired'],
      ]);
      expect(await sweeper.sweep()).toBe(0);
      await audit.close();
      await rm(join(auditPath, '..'), { recursive: true, force: true });
    });
  });
});
