import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptedEntry,
  cellAcceptedEntry,
  FileAuditLog,
  finishedEntry,
  sessionOpenedEntry,
  startedEntry,
  verifyAuditLog,
} from '@airlock/audit';
import {
  type Execution,
  ExecutionRequest,
  emptyResult,
  newExecutionId,
  newSessionId,
  type Session,
} from '@airlock/protocol';
import { LOCAL_CALLER } from '@airlock/sessions';
import { SqliteStore } from '@airlock/store';
import { afterEach, describe, expect, it } from 'vitest';
import { type RecoveryDeps, recoverAfterCrash } from './recover.ts';

const REQUEST = ExecutionRequest.parse({ language: 'javascript', code: 'console.log(1)' });
const RETRY = ExecutionRequest.parse({
  language: 'javascript',
  code: 'console.log(2)',
  retry_on_worker_loss: true,
});
const LIMITS = { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 };
/** Recent enough to be within the store's retention, which runs on the real clock. */
const T0 = new Date().toISOString();

/** What the test's executions and sessions share: the tenant, the runtime and the limits. */
const OWNED = {
  tenant: 'local',
  language: 'javascript',
  backend: 'isolate',
  limits: LIMITS,
  template: null,
} as const;

function execution(extra: Partial<Execution> = {}): Execution {
  return {
    id: newExecutionId(),
    status: 'queued',
    ...OWNED,
    metadata: { job: 'x' },
    created_at: T0,
    started_at: null,
    finished_at: null,
    result: null,
    ...extra,
  };
}

function session(extra: Partial<Session> = {}): Session {
  return {
    id: newSessionId(),
    status: 'ready',
    ...OWNED,
    created_at: T0,
    last_used_at: T0,
    expires_at: new Date(Date.parse(T0) + 300_000).toISOString(),
    on_idle: 'close',
    cells: 2,
    closed_at: null,
    closed_reason: null,
    metadata: {},
    ...extra,
  };
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function records(path: string): Promise<Array<Record<string, any>>> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('recoverAfterCrash', () => {
  it('ends what the store and the audit log show unfinished, once, and hands back the retries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-recover-'));
    dirs.push(dir);
    const auditPath = join(dir, 'audit.jsonl');
    let audit = await FileAuditLog.open(auditPath);
    let store = SqliteStore.open({ path: join(dir, 'store', 'airlock.db'), retentionMs: 3_600_000 });
    const { executions, sessions } = store;
    const started = (e: Execution): Execution => ({ ...e, status: 'running', started_at: T0 });
    const accept = (e: Execution, request = REQUEST) =>
      audit.append(acceptedEntry(e, request, LOCAL_CALLER, null));

    // Queued in the store, never run.
    const queued = execution();
    await executions.create({ execution: queued, requestHash: 'h', idempotencyKey: 'k' });
    await accept(queued);
    // Running with retry_on_worker_loss: queued again.
    const retried = started(execution());
    await executions.create({ execution: retried, requestHash: 'h', request: RETRY });
    await executions.update(retried, { runs: 1 });
    await accept(retried, RETRY);
    await audit.append(startedEntry(retried));
    // Retry asked for, but its runs are used up.
    const exhausted = started(execution());
    await executions.create({ execution: exhausted, requestHash: 'h', request: RETRY });
    await executions.update(exhausted, { runs: 3 });
    await accept(exhausted, RETRY);
    // In the audit log only (its store record was lost), started.
    const lost = execution({ metadata: { job: 'lost' } });
    await accept(lost);
    await audit.append(startedEntry(lost));
    // Finished in the store; the crash came before its `finished` audit record.
    const done = execution();
    const doneFinished: Execution = {
      ...started(done),
      status: 'finished',
      finished_at: T0,
      result: { ...emptyResult('success', ''), reason: null, exit_code: 0, stdout: 'out\n' },
    };
    await executions.create({ execution: done, requestHash: 'h' });
    await executions.finish(doneFinished, []);
    await accept(done);
    // Stored, but the service died while admitting it: no `accepted` record, so it was never accepted.
    const admitting = execution();
    await executions.create({ execution: admitting, requestHash: 'h', idempotencyKey: 'admitting' });
    // Finished everywhere: left alone.
    const complete = execution();
    await accept(complete);
    await audit.append(
      finishedEntry({ ...complete, status: 'finished', finished_at: T0, result: emptyResult('success', '') }),
    );
    // A session open in the store, one known to the audit log only, and a cell running in the first.
    const open = session();
    await sessions.putSession(open);
    await audit.append(sessionOpenedEntry(open, LOCAL_CALLER, null));
    const auditOnly = session({ language: 'python', backend: 'docker' });
    await audit.append(sessionOpenedEntry(auditOnly, LOCAL_CALLER, null));
    const cell = started(execution({ session_id: open.id, metadata: {} }));
    await executions.create({ execution: cell, requestHash: '' });
    await audit.append(cellAcceptedEntry(cell, REQUEST, LOCAL_CALLER, null, open.id));
    await audit.append(startedEntry(cell));

    // The crash: nothing is closed cleanly; the next process opens both again.
    await audit.close();
    store.close();
    audit = await FileAuditLog.open(auditPath);
    store = SqliteStore.open({ path: join(dir, 'store', 'airlock.db'), retentionMs: 3_600_000 });
    const before = (await records(auditPath)).length;
    let recordsAtReap = -1;
    const now = new Date(Date.parse(T0) + 60_000);
    const deps: RecoveryDeps = {
      executions: store.executions,
      sessions: store.sessions,
      audit,
      auditPath,
      reapContainers: async () => {
        recordsAtReap = (await records(auditPath)).length;
        return 0;
      },
      logger: { warn: () => {} },
      now: () => now,
    };
    const report = await recoverAfterCrash(deps);

    // Containers first: nothing was written before the reaper ran.
    expect(recordsAtReap).toBe(before);
    expect(new Set(report.ended)).toEqual(new Set([queued.id, exhausted.id, lost.id, cell.id]));
    expect(new Set(report.closed)).toEqual(new Set([open.id, auditOnly.id]));
    expect(report.audited).toEqual([done.id]);
    expect(report.discarded).toEqual([admitting.id]);
    expect(await store.executions.get('local', admitting.id)).toBeUndefined();
    expect(await store.executions.findByKey('local', 'admitting')).toBeUndefined();
    expect(report.retries.map((r) => [r.execution.id, r.runs, r.request])).toEqual([[retried.id, 1, RETRY]]);

    const restarted = { outcome: 'internal_error', reason: 'service restarted', exit_code: null, stdout: '' };
    expect((await store.executions.get('local', queued.id))?.result).toMatchObject(restarted);
    expect((await store.executions.get('local', exhausted.id))?.result?.reason).toBe(
      'service restarted (3 runs)',
    );
    expect(await store.executions.get('local', lost.id)).toMatchObject({
      status: 'finished',
      metadata: { job: 'lost' },
      started_at: expect.any(String),
      finished_at: now.toISOString(),
      result: restarted,
    });
    expect(await store.executions.get('local', cell.id)).toMatchObject({
      session_id: open.id,
      result: restarted,
    });
    expect(await store.executions.get('local', done.id)).toEqual(doneFinished);
    expect((await store.executions.get('local', retried.id))?.status).toBe('running');
    expect(await store.executions.events('local', queued.id)).toEqual([
      { type: 'state', status: 'queued' },
      { type: 'result', execution: await store.executions.get('local', queued.id) },
    ]);
    for (const id of [open.id, auditOnly.id]) {
      expect(await store.sessions.getSession('local', id)).toMatchObject({
        status: 'closed',
        closed_reason: 'service_restarted',
        closed_at: now.toISOString(),
      });
    }
    expect((await store.sessions.getSession('local', open.id))?.cells).toBe(2);

    const added = (await records(auditPath)).slice(before);
    expect(added.every((r) => r.type === 'finished')).toBe(true);
    const byId = new Map(added.map((r) => [r.execution_id, r]));
    expect(byId.size).toBe(added.length);
    expect(new Set(byId.keys())).toEqual(
      new Set([queued.id, exhausted.id, lost.id, cell.id, done.id, open.id, auditOnly.id]),
    );
    expect(byId.get(queued.id)).toMatchObject({ outcome: 'internal_error', reason: 'service restarted' });
    expect(byId.get(done.id)).toMatchObject({ outcome: 'success' });
    expect(byId.get(cell.id)?.detail).toMatchObject({ session_id: open.id });
    expect(byId.get(open.id)).toMatchObject({ outcome: 'closed', reason: 'service_restarted' });
    expect(await verifyAuditLog(auditPath)).toMatchObject({ ok: true });

    // A second start finds nothing left to end but the retry, which is still unfinished until it runs.
    const again = await recoverAfterCrash(deps);
    expect(again).toMatchObject({ ended: [], closed: [], audited: [], discarded: [] });
    expect(again.retries.map((r) => r.execution.id)).toEqual([retried.id]);
    expect((await records(auditPath)).length).toBe(before + added.length);
    await audit.close();
    store.close();
  });
});
