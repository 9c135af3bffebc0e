// The lifecycle event log on a real SQLite file: tenant-scoped, ordered reads after a position; retention by
// age and by bytes; positions never reused; and a store written by the previous schema brought up to date.

import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { LifecycleEvent } from '@airlock/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { newEventId } from '../lifecycle-events.ts';
import { queuedExecution, T0, tempDir } from '../test-fixtures.ts';
import { SqliteStore } from './sqlite-store.ts';

const event = (tenant: string, type: LifecycleEvent['type'], atMs: number): LifecycleEvent => ({
  id: newEventId(),
  type,
  tenant,
  at: new Date(atMs).toISOString(),
  subject: 'ex_1',
  data: { status: 'queued' },
});

let store: SqliteStore | undefined;
const dirs: Array<{ path: string; [Symbol.dispose](): void }> = [];
afterEach(() => {
  store?.close();
  store = undefined;
  for (const dir of dirs.splice(0)) dir[Symbol.dispose]();
});

function open(path: string, now: { ms: number }, retainedBytes = 1 << 20): SqliteStore {
  store = SqliteStore.open({
    path,
    retentionMs: 3_600_000,
    events: { retentionMs: 60_000, retainedBytes },
    now: () => new Date(now.ms),
  });
  return store;
}

describe('SqliteEvents', () => {
  it('reads one tenant in order after a position, by type; forgets by age and by bytes', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const now = { ms: T0 };
    const s = open(join(dir.path, 'airlock.db'), now, 2000);
    const a1 = await s.events.append(event('acme', 'execution.accepted', T0));
    await s.events.append(event('globex', 'execution.accepted', T0));
    const a2 = await s.events.append(event('acme', 'execution.finished', T0));
    expect(a2).toBeGreaterThan(a1);
    expect((await s.events.read('acme', { limit: 10 })).map((e) => e.seq)).toEqual([a1, a2]);
    expect((await s.events.read('acme', { after: a1, limit: 10 })).map((e) => e.seq)).toEqual([a2]);
    const finished = await s.events.read('acme', { types: ['execution.finished'], limit: 10 });
    expect(finished.map((e) => e.event.type)).toEqual(['execution.finished']);

    now.ms = T0 + 61_000; // past the age: read no more, and gone at the next append
    expect(await s.events.read('acme', { limit: 10 })).toEqual([]);
    const a3 = await s.events.append(event('acme', 'execution.started', now.ms));
    expect(a3).toBeGreaterThan(a2);
    expect(s.events.bytes).toBeLessThan(1000);

    for (let i = 0; i < 40; i++) await s.events.append(event('acme', 'execution.started', now.ms));
    expect(s.events.bytes).toBeLessThanOrEqual(2000); // the byte bound holds, oldest first
    const kept = await s.events.read('acme', { limit: 100 });
    expect(kept.length).toBeGreaterThan(0);
    expect(kept[0]!.seq).toBeGreaterThan(a3);
  });

  it('brings a store of the previous schema up to date, keeping its executions', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir.path, 'airlock.db');
    const now = { ms: T0 };
    const s = open(path, now);
    const execution = queuedExecution('acme');
    await s.executions.create({ execution, requestHash: 'h' });
    s.close();
    store = undefined;
    // What version 1 left on disk: no event log, no meta table, no session listing index.
    const db = new DatabaseSync(path);
    db.exec(
      'DROP TABLE lifecycle_events; DROP TABLE store_meta; DROP INDEX sessions_by_tenant; PRAGMA user_version = 1',
    );
    db.close();
    const again = open(path, now);
    expect(await again.executions.get('acme', execution.id)).toEqual(execution);
    expect(await again.events.append(event('acme', 'execution.accepted', T0))).toBe(1);
    const key = again.cursorKey();
    expect(key).toHaveLength(32);
    expect(again.cursorKey()).toEqual(key);
  });
});
