import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { newSnapshotId } from '@airlock/protocol';
import { CHECKPOINT_FILE } from '@airlock/sandbox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSnapshotStore } from './file-snapshot-store.ts';
import { ensureRoom, quotaFor } from './snapshot-quota.ts';
import type { SnapshotRecord, SnapshotStore } from './snapshot-store.ts';
import { SnapshotSweeper } from './snapshot-sweeper.ts';

let root: string;
let events: { type: string; tenant: string; subject: string; data: Record<string, unknown> }[];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlock-snapshot-store-'));
  events = [];
});
afterEach(() => rm(root, { recursive: true, force: true }));

const storeOf = (options: { retentionSeconds?: number; max_count?: number } = {}) =>
  new FileSnapshotStore(root, {
    events: { publish: async (event) => void events.push(event) },
    quota: { max_count: options.max_count ?? 2, max_bytes: 1000 },
    ...(options.retentionSeconds === undefined ? {} : { retentionSeconds: options.retentionSeconds }),
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

describe('SnapshotStore quotas', () => {
  it("counts a tenant's snapshots and pause images, and its bytes; other tenants apart", async () => {
    const store = storeOf();
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
    const store = storeOf({ max_count: 10 });
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

describe('SnapshotStore retention and the sweeper', () => {
  it('keeps snapshots without a retention, and a pause image as long as a session can live', async () => {
    const kept = await take(storeOf());
    expect(kept.expires_at).toBeNull();
    const store = new FileSnapshotStore(root, { retentionSeconds: 60, sessionLifetimeSeconds: 3600 });
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
    expect((await storeOf().expired(outlived)).map((r) => r.snapshot.id)).toEqual([snapshot.id]);
  });

  it('deletes expired snapshots with their event and audit record (reason expired), and only those', async () => {
    const store = new FileSnapshotStore(root, {
      events: { publish: async (event) => void events.push(event) },
      retentionSeconds: 60,
    });
    const kept = await take(storeOf());
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
    const expiring = new FileSnapshotStore(root, {
      events: { publish: async (event) => void events.push(event) },
      retentionSeconds: 1e-9,
    });
    const gone = await take(expiring, { tenant: 'globex' });
    expect(await store.get('globex', gone.id)).toBeUndefined();
    expect(await sweeper.sweep()).toBe(1);
    await sweeper.close();
    expect((await readdir(root)).sort()).toEqual([kept.id, pause.id].sort());
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
