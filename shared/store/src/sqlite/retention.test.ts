import type { Session } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { finished, manualClock, queuedExecution, result, T0, tempDir } from '../test-fixtures.ts';
import { SqliteStore } from './sqlite-store.ts';

function session(tenant: string, id: string, closedAtMs: number | null): Session {
  return {
    id,
    tenant,
    language: 'python',
    backend: 'docker',
    template: null,
    status: closedAtMs === null ? 'ready' : 'closed',
    limits: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 },
    created_at: new Date(T0).toISOString(),
    last_used_at: new Date(T0).toISOString(),
    expires_at: new Date(T0 + 60_000).toISOString(),
    on_idle: 'close',
    cells: 0,
    closed_at: closedAtMs === null ? null : new Date(closedAtMs).toISOString(),
    closed_reason: closedAtMs === null ? null : 'deleted',
    metadata: {},
  };
}

describe('SqliteStore retention', () => {
  it('hides a finished execution and a closed session at the retention age, then forgets them', async () => {
    const clock = manualClock();
    const store = SqliteStore.inMemory({ retentionMs: 60_000, now: clock.now });
    const { executions, sessions } = store;
    const execution = queuedExecution('acme');
    await executions.create({ execution, requestHash: 'h', idempotencyKey: 'k' });
    const done = finished(execution, clock.ms);
    await executions.finish(done, []);
    await sessions.putSession(session('acme', 'ses_closedAAAAAAAAAAAAAAA', clock.ms));
    await sessions.putSession(session('acme', 'ses_openAAAAAAAAAAAAAAAAA', null));
    const unfinished = queuedExecution('acme');
    await executions.create({ execution: unfinished, requestHash: 'h' });
    clock.advance(59_999);
    expect(await executions.get('acme', execution.id)).toEqual(done);
    expect((await sessions.getSession('acme', 'ses_closedAAAAAAAAAAAAAAA'))?.status).toBe('closed');
    clock.advance(1);
    expect(await executions.get('acme', execution.id)).toBeUndefined();
    expect(await executions.events('acme', execution.id)).toBeUndefined();
    expect(await executions.findByKey('acme', 'k')).toBeUndefined();
    expect(await sessions.getSession('acme', 'ses_closedAAAAAAAAAAAAAAA')).toBeUndefined();
    // The expired key holder was forgotten on lookup, so the key is free again.
    expect(store.stats()).toMatchObject({ executions: 1, sessions: 2 });
    expect(await store.executions.sweep()).toEqual({ executions: 0, sessions: 1 });
    expect(store.stats()).toMatchObject({ executions: 1, sessions: 1 });
    // Never an unfinished execution or an open session, however old.
    clock.advance(10 * 60_000);
    await store.executions.sweep();
    expect(await executions.get('acme', unfinished.id)).toEqual(unfinished);
    expect((await sessions.openSessions()).map((s) => s.id)).toEqual(['ses_openAAAAAAAAAAAAAAAAA']);
    store.close();
  });

  it('sweeps on its own timer, with no call into the store', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 10 });
    const execution = queuedExecution('acme');
    await store.executions.create({ execution, requestHash: 'h' });
    await store.executions.finish(finished(execution, Date.now()), []);
    expect(store.stats().executions).toBe(1);
    while (store.stats().executions > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.stats()).toEqual({ executions: 0, sessions: 0, bytes: 0 });
    store.close();
  });

  it('forgets the oldest finished records first while over the byte bound, never unfinished ones', async () => {
    const clock = manualClock();
    const store = SqliteStore.inMemory({ retentionMs: 3_600_000, retainedBytes: 50_000, now: clock.now });
    const { executions } = store;
    const live = queuedExecution('acme', { status: 'running' });
    await executions.create({ execution: live, requestHash: 'h' });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      const execution = queuedExecution('acme');
      ids.push(execution.id);
      await executions.create({ execution, requestHash: 'h' });
      // Distinct outputs of 10 kB each: five fit under the bound.
      await executions.finish(finished(execution, clock.ms, result(`${i}`.padEnd(10_000, '.'))), []);
      expect(store.stats().bytes).toBeLessThanOrEqual(50_000);
    }
    const kept = [];
    for (const id of ids) if (await executions.get('acme', id)) kept.push(id);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept).toEqual(ids.slice(-kept.length));
    expect(await executions.get('acme', live.id)).toEqual(live);
    store.close();
  });

  it('counts closed sessions in the byte bound, oldest first across both kinds', async () => {
    const clock = manualClock();
    const store = SqliteStore.inMemory({ retentionMs: 3_600_000, retainedBytes: 3_000, now: clock.now });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      const id = `ses_${String(i).padStart(22, 'A')}`;
      ids.push(id);
      await store.sessions.putSession(session('acme', id, clock.ms));
    }
    const kept = [];
    for (const id of ids) if (await store.sessions.getSession('acme', id)) kept.push(id);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(10);
    expect(kept).toEqual(ids.slice(-kept.length));
    expect(store.stats().bytes).toBeLessThanOrEqual(3_000);
    store.close();
  });

  it('applies a count bound to executions, unfinished ones counted but never forgotten', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 3_600_000, maxExecutions: 3 });
    const { executions } = store;
    const done: string[] = [];
    for (let i = 0; i < 3; i++) {
      const execution = queuedExecution('acme');
      done.push(execution.id);
      await executions.create({ execution, requestHash: 'h' });
      await executions.finish(finished(execution, T0 + i), []);
    }
    const live = [];
    for (let i = 0; i < 4; i++) {
      const execution = queuedExecution('acme');
      live.push(execution.id);
      await executions.create({ execution, requestHash: 'h' });
    }
    for (const id of done) expect(await executions.get('acme', id)).toBeUndefined();
    for (const id of live) expect((await executions.get('acme', id))?.status).toBe('queued');
    expect(store.stats().executions).toBe(4);
    store.close();
  });

  it('gives freed pages back to the file system', async () => {
    using dir = tempDir();
    const clock = manualClock();
    const store = SqliteStore.open({ path: dir.file, retentionMs: 60_000, now: clock.now });
    for (let i = 0; i < 8; i++) {
      const execution = queuedExecution('acme');
      await store.executions.create({ execution, requestHash: 'h' });
      await store.executions.finish(
        finished(execution, clock.ms, result(`${i}`.padEnd(1024 * 1024, '#'))),
        [],
      );
    }
    const full = store.fileBytes();
    expect(full).toBeGreaterThan(8 * 1024 * 1024);
    clock.advance(60_000);
    expect(await store.executions.sweep()).toEqual({ executions: 8, sessions: 0 });
    store.close();
    const reopened = SqliteStore.open({ path: dir.file, retentionMs: 60_000, now: clock.now });
    expect(reopened.fileBytes()).toBeLessThan(1024 * 1024);
    reopened.close();
  });
});
