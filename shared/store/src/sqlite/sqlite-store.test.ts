import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecutionEvent } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { finished, manualClock, queuedExecution, result, T0, tempDir } from '../test-fixtures.ts';
import { StoreInUseError } from './database.ts';
import { SqliteStore } from './sqlite-store.ts';

const REQUEST = {
  language: 'javascript' as const,
  code: `// ${'x'.repeat(100_000)}`,
  files: [],
  stdin: '',
  args: [],
  env: {},
  limits: {},
  backend: 'auto' as const,
  network: { egress: 'none' as const },
  metadata: {},
  retry_on_worker_loss: true,
};

describe('SqliteStore executions', () => {
  it('gives back exactly what was stored, to its tenant only, from queued to finished', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    const { executions } = store;
    const queued = queuedExecution('acme', { metadata: { team: 'blue' } });
    expect(await executions.create({ execution: queued, requestHash: 'h' })).toEqual({ created: true });
    expect(await executions.get('acme', queued.id)).toEqual(queued);
    expect(await executions.get('other', queued.id)).toBeUndefined();
    const running = { ...queued, status: 'running' as const, started_at: new Date(T0).toISOString() };
    await executions.update(running, { runs: 1 });
    expect(await executions.get('acme', queued.id)).toEqual(running);
    // Large output, a lone surrogate (no UTF-8 form), a binary file, egress-free result fields.
    const big = `${'é'.repeat(3000)}\n`;
    const done = finished(
      running,
      Date.now(),
      result(big, {
        stderr: `odd \ud800 ${'x'.repeat(2000)}`,
        files: [
          {
            path: 'a.bin',
            size: 3000,
            encoding: 'base64',
            content: Buffer.alloc(3000, 7).toString('base64'),
          },
          { path: 'b.txt', size: 2, encoding: 'base64', content: 'aGk=' },
        ],
      }),
    );
    await executions.finish(done, []);
    expect(await executions.get('acme', queued.id)).toEqual(done);
    expect(await executions.get('other', queued.id)).toBeUndefined();
    // A second finish changes nothing.
    await executions.finish(finished(running, Date.now(), result('late')), []);
    expect(await executions.get('acme', queued.id)).toEqual(done);
    store.close();
  });

  it('claims an idempotency key per tenant and answers its holder', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    const { executions } = store;
    const first = queuedExecution('acme');
    await executions.create({ execution: first, requestHash: 'h1', idempotencyKey: 'k' });
    const second = await executions.create({
      execution: queuedExecution('acme'),
      requestHash: 'h2',
      idempotencyKey: 'k',
    });
    expect(second).toEqual({ created: false, holder: { execution: first, requestHash: 'h1' } });
    expect(await executions.findByKey('acme', 'k')).toEqual({ execution: first, requestHash: 'h1' });
    expect(await executions.findByKey('other', 'k')).toBeUndefined();
    const other = await executions.create({
      execution: queuedExecution('other'),
      requestHash: 'h2',
      idempotencyKey: 'k',
    });
    expect(other).toEqual({ created: true });
    store.close();
  });

  it('replays events exactly as given, output stored as pieces of the result', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    const { executions } = store;
    const execution = queuedExecution('acme');
    await executions.create({ execution, requestHash: 'h' });
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'-'.repeat(100)}\n`);
    const events: ExecutionEvent[] = [
      { type: 'state', status: 'queued' },
      { type: 'state', status: 'running' },
      // The first 50 were dropped by the live buffer: the replay starts in the middle of stdout.
      ...lines.slice(50).map((data): ExecutionEvent => ({ type: 'output', stream: 'stdout', data })),
      { type: 'output', stream: 'stderr', data: 'not in the result' },
      { type: 'output', stream: 'stderr', data: '' },
    ];
    const done = finished(execution, Date.now(), result(lines.join('')));
    await executions.finish(done, events);
    expect(await executions.events('acme', execution.id)).toEqual([
      ...events,
      { type: 'result', execution: done },
    ]);
    expect(await executions.events('other', execution.id)).toBeUndefined();
    store.close();
  });

  it('keeps a retry request only until the execution finishes, and lists what never finished', async () => {
    const store = SqliteStore.inMemory({ retentionMs: 60_000 });
    const { executions } = store;
    const a = queuedExecution('acme');
    const b = queuedExecution('acme', { status: 'running', started_at: new Date(T0).toISOString() });
    await executions.create({ execution: a, requestHash: 'ha', idempotencyKey: 'ka', request: REQUEST });
    await executions.create({ execution: b, requestHash: 'hb' });
    await executions.update(b, { runs: 2 });
    expect(await executions.unfinished()).toEqual([
      { execution: a, requestHash: 'ha', idempotencyKey: 'ka', request: REQUEST, runs: 0 },
      { execution: b, requestHash: 'hb', idempotencyKey: undefined, request: undefined, runs: 2 },
    ]);
    const withRequest = store.stats().bytes;
    await executions.finish(finished(a, Date.now()), []);
    // The 100 kB request is no longer kept.
    expect(store.stats().bytes).toBeLessThan(withRequest - 99_000);
    expect((await executions.unfinished()).map((u) => u.execution.id)).toEqual([b.id]);
    await executions.remove('other', b.id);
    expect(store.stats().executions).toBe(2);
    await executions.remove('acme', b.id);
    expect(store.stats().executions).toBe(1);
    expect(await executions.get('acme', b.id)).toBeUndefined();
    store.close();
  });
});

describe('SqliteStore on disk', () => {
  it('survives a reopen, keeps its folder 0700 and files 0600, and refuses a second opener', async () => {
    using dir = tempDir();
    const clock = manualClock();
    const store = SqliteStore.open({ path: dir.file, retentionMs: 60_000, now: clock.now });
    const execution = queuedExecution('acme');
    await store.executions.create({ execution, requestHash: 'h' });
    const done = finished(execution, clock.ms, result('x'.repeat(5000)));
    await store.executions.finish(done, [{ type: 'state', status: 'queued' }]);
    await store.sessions.putSession({
      id: 'ses_AAAAAAAAAAAAAAAAAAAAAA',
      tenant: 'acme',
      language: 'python',
      backend: 'docker',
      template: null,
      status: 'ready',
      limits: execution.limits,
      created_at: new Date(T0).toISOString(),
      last_used_at: new Date(T0).toISOString(),
      expires_at: new Date(T0 + 300_000).toISOString(),
      on_idle: 'close',
      cells: 0,
      closed_at: null,
      closed_reason: null,
      metadata: {},
    });
    expect(() => SqliteStore.open({ path: dir.file, retentionMs: 60_000 })).toThrow(StoreInUseError);
    expect(statSync(dirname(dir.file)).mode & 0o777).toBe(0o700);
    expect(statSync(dir.file).mode & 0o777).toBe(0o600);
    expect(statSync(`${dir.file}-wal`).mode & 0o777).toBe(0o600);
    store.close();

    const again = SqliteStore.open({ path: dir.file, retentionMs: 60_000, now: clock.now });
    expect(await again.executions.get('acme', execution.id)).toEqual(done);
    expect(await again.executions.events('acme', execution.id)).toEqual([
      { type: 'state', status: 'queued' },
      { type: 'result', execution: done },
    ]);
    expect((await again.sessions.openSessions()).map((s) => s.id)).toEqual(['ses_AAAAAAAAAAAAAAAAAAAAAA']);
    expect(again.stats()).toEqual({ executions: 1, sessions: 1, bytes: store.stats().bytes });
    again.close();
  });

  it('stores a large output once however many executions return it', async () => {
    using dir = tempDir();
    const store = SqliteStore.open({ path: dir.file, retentionMs: 60_000 });
    const output = 'y'.repeat(1024 * 1024);
    for (let i = 0; i < 20; i++) {
      const execution = queuedExecution('acme');
      await store.executions.create({ execution, requestHash: 'h' });
      await store.executions.finish(finished(execution, Date.now(), result(output)), [
        { type: 'output', stream: 'stdout', data: output },
      ]);
    }
    // Counted as if unshared (the bound is conservative); on disk, one copy plus small records.
    expect(store.stats().bytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(store.fileBytes()).toBeLessThan(3 * 1024 * 1024);
    store.close();
  });
});
