// Crash recovery of the embedded service, run once at start-up before the gateway accepts anything and before
// any sandbox starts: first the containers of the dead process are removed; then every execution the store
// holds as queued or running, and every one the audit log shows accepted and never finished, ends with a
// terminal record (`internal_error`, "service restarted") in the store and a `finished` audit record — except a
// request that asked for `retry_on_worker_loss`, which is handed back to be queued again (up to MAX_RUNS
// starts). Sessions left open are recorded closed (`service_restarted`). An execution the store holds but the
// audit log never accepted (the service died while admitting it) was never accepted: it is removed.
// Must never run anything itself, never leave an accepted id without a terminal record, and never write a
// second `finished` audit record for an execution the log already shows finished.

import {
  type AuditEntry,
  type AuditSink,
  cellFinishedEntry,
  finishedEntry,
  sessionClosedEntry,
} from '@airlock/audit';
import {
  type Execution,
  type ExecutionEvent,
  Execution as ExecutionSchema,
  emptyResult,
  type Session,
  Session as SessionSchema,
} from '@airlock/protocol';
import { MAX_RUNS } from '@airlock/queue';
import type { ExecutionStore, SessionStore, UnfinishedExecution } from '@airlock/store';
import { type OpenInAudit, scanAuditLog } from './audit-scan.ts';

export const RESTART_REASON = 'service restarted';

export interface RecoveryDeps {
  executions: ExecutionStore;
  sessions: SessionStore;
  audit: AuditSink;
  auditPath: string;
  /** Removes the containers of owners that are gone; resolves with how many. */
  reapContainers: () => Promise<number>;
  logger: { warn(obj: object, msg: string): void };
  now?: () => Date;
}

/** An execution to queue again: it asked to be retried and has runs left. */
export type Retry = UnfinishedExecution & { request: NonNullable<UnfinishedExecution['request']> };

export interface RecoveryReport {
  reaped: number;
  /** Executions given a terminal record now. */
  ended: string[];
  /** Sessions recorded closed now. */
  closed: string[];
  /** Finished in the store but not in the audit log: their `finished` record was written now. */
  audited: string[];
  /** Stored but never accepted (the service died while admitting them): removed. */
  discarded: string[];
  retries: Retry[];
}

export async function recoverAfterCrash(deps: RecoveryDeps): Promise<RecoveryReport> {
  const now = (deps.now ?? (() => new Date()))();
  const report: RecoveryReport = {
    reaped: 0,
    ended: [],
    closed: [],
    audited: [],
    discarded: [],
    retries: [],
  };
  report.reaped = await deps.reapContainers();
  const unfinishedInStore = await deps.executions.unfinished();
  const ids = new Set(unfinishedInStore.map((u) => u.execution.id));
  const { open, accepted, finished, skipped } = await scanAuditLog(deps.auditPath, ids);
  if (skipped > 0) deps.logger.warn({ skipped }, 'recovery: audit lines that are not records were skipped');
  const appends: Array<Promise<unknown>> = [];
  const audit = (entry: AuditEntry) => appends.push(deps.audit.append(entry));

  for (const unfinished of unfinishedInStore) {
    const { execution, request, runs } = unfinished;
    open.delete(execution.id);
    if (!accepted.has(execution.id)) {
      await deps.executions.remove(execution.tenant, execution.id);
      report.discarded.push(execution.id);
      continue;
    }
    if (request?.retry_on_worker_loss === true && execution.session_id === undefined && runs < MAX_RUNS) {
      report.retries.push({ ...unfinished, request });
      continue;
    }
    const reason = runs >= MAX_RUNS ? `${RESTART_REASON} (${runs} runs)` : RESTART_REASON;
    const done = terminal(execution, reason, now);
    await deps.executions.finish(done, replayOf(execution));
    if (!finished.has(execution.id)) audit(executionFinished(done));
    report.ended.push(done.id);
  }
  for (const session of await deps.sessions.openSessions()) {
    open.delete(session.id);
    const closed = closedSession(session, now);
    await deps.sessions.putSession(closed);
    audit(sessionClosedEntry(closed));
    report.closed.push(closed.id);
  }
  const recovery: Recovery = { now, deps, audit, report };
  for (const item of open.values()) {
    try {
      const stored = await endInStore(item, deps);
      if (stored) {
        audit(stored);
        report.audited.push(item.id);
      } else if (item.kind === 'session') await recoverSession(item, recovery);
      else await recoverExecution(item, recovery);
    } catch (err) {
      deps.logger.warn({ err, id: item.id }, 'recovery: could not record the end of an accepted item');
    }
  }
  await Promise.all(appends);
  return report;
}

/** What the recovery of one item works with: the time it ends things at, its parts, its appends, its report. */
interface Recovery {
  now: Date;
  deps: RecoveryDeps;
  audit: (entry: AuditEntry) => void;
  report: RecoveryReport;
}

/**
 * The audit record of the end the store already holds for an item the audit log shows open (the log missed only
 * that record), or undefined when the store has not ended it.
 */
async function endInStore(item: OpenInAudit, deps: RecoveryDeps): Promise<AuditEntry | undefined> {
  if (item.kind === 'session') {
    const stored = await deps.sessions.getSession(item.tenant, item.id);
    return stored?.status === 'closed' ? sessionClosedEntry(stored) : undefined;
  }
  const stored = await deps.executions.get(item.tenant, item.id);
  return stored?.status === 'finished' ? executionFinished(stored) : undefined;
}

/** Accepted in the audit log, never finished there, nor in the store: it expired there, or was lost. */
async function recoverExecution(item: OpenInAudit, { now, deps, audit, report }: Recovery): Promise<void> {
  const accepted = ExecutionSchema.parse({
    id: item.id,
    tenant: item.tenant,
    status: 'queued',
    language: item.language,
    backend: item.backend,
    limits: item.limits,
    metadata: item.metadata,
    created_at: item.acceptedAt,
    started_at: item.startedAt,
    finished_at: null,
    result: null,
    ...(item.sessionId === undefined ? {} : { session_id: item.sessionId }),
  });
  const done = terminal(accepted, RESTART_REASON, now);
  await deps.executions.create({ execution: accepted, requestHash: '' });
  await deps.executions.finish(done, replayOf(accepted));
  audit(executionFinished(done));
  report.ended.push(done.id);
}

/** Opened in the audit log, never closed there nor in the store: it is recorded closed now. */
async function recoverSession(item: OpenInAudit, { now, deps, audit, report }: Recovery): Promise<void> {
  const session = SessionSchema.parse({
    id: item.id,
    tenant: item.tenant,
    language: item.language,
    backend: item.backend,
    status: 'ready',
    limits: item.limits,
    created_at: item.acceptedAt,
    last_used_at: item.acceptedAt,
    expires_at: typeof item.expiresAt === 'string' ? item.expiresAt : item.acceptedAt,
    cells: 0,
    closed_at: null,
    closed_reason: null,
    metadata: item.metadata,
  });
  const closed = closedSession(session, now);
  await deps.sessions.putSession(closed);
  audit(sessionClosedEntry(closed));
  report.closed.push(closed.id);
}

function terminal(execution: Execution, reason: string, now: Date): Execution {
  return {
    ...execution,
    status: 'finished',
    finished_at: now.toISOString(),
    // How long it ran before the crash is not known.
    result: emptyResult('internal_error', reason, 0),
  };
}

/** What a late watcher of a recovered execution sees before its result: the states it reached. */
function replayOf(execution: Execution): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  if (execution.session_id === undefined) events.push({ type: 'state', status: 'queued' });
  if (execution.started_at !== null) events.push({ type: 'state', status: 'running' });
  return events;
}

function closedSession(session: Session, now: Date): Session {
  return {
    ...session,
    status: 'closed',
    closed_at: now.toISOString(),
    closed_reason: 'service_restarted',
  };
}

function executionFinished(execution: Execution): AuditEntry {
  return execution.session_id === undefined
    ? finishedEntry(execution)
    : cellFinishedEntry(execution, execution.session_id);
}
