// The audit entries of a session's life: opened (like an accepted execution, with the capability), closed (with
// why), each cell as an execution (accepted, started, finished) carrying `detail.session_id`, and each use of
// its files API (`file`: the operation, the path, size and sha256). Hashes of code, output and files, never the
// code, output, rich outputs or file contents themselves.

import type { Caller, Execution, ExecutionRequest, Session } from '@airlock/protocol';
import { acceptedEntry, callerDetail, finishedEntry, startedEntry } from './execution-entries.ts';
import type { AuditEntry } from './record.ts';

export function sessionOpenedEntry(session: Session, caller: Caller, capability: unknown): AuditEntry {
  return {
    type: 'accepted',
    execution_id: session.id,
    tenant: session.tenant,
    subject: caller.subject,
    language: session.language,
    backend: session.backend,
    limits: { ...session.limits },
    metadata: { ...session.metadata },
    detail: {
      kind: 'session',
      ...callerDetail(caller),
      capability: capability ?? null,
      expires_at: session.expires_at,
    },
  };
}

export function sessionClosedEntry(session: Session): AuditEntry {
  return {
    type: 'finished',
    execution_id: session.id,
    tenant: session.tenant,
    language: session.language,
    backend: session.backend,
    outcome: 'closed',
    reason: session.closed_reason,
    detail: { kind: 'session', cells: session.cells, closed_at: session.closed_at },
  };
}

const withSession = (entry: AuditEntry, sessionId: string): AuditEntry => ({
  ...entry,
  detail: { ...entry.detail, session_id: sessionId },
});

export function cellAcceptedEntry(
  execution: Execution,
  request: ExecutionRequest,
  caller: Caller,
  capability: unknown,
  sessionId: string,
): AuditEntry {
  return withSession(acceptedEntry(execution, request, caller, capability), sessionId);
}

export function cellStartedEntry(execution: Execution, sessionId: string): AuditEntry {
  return withSession(startedEntry(execution), sessionId);
}

export function cellFinishedEntry(execution: Execution, sessionId: string): AuditEntry {
  return withSession(finishedEntry(execution), sessionId);
}

/** One use of a session's files API: what was done to which path, by whom, and the content's size and hash. */
export function sessionFileEntry(
  session: Session,
  caller: Caller,
  file: { op: 'put' | 'get' | 'list' | 'delete'; path: string; size?: number; sha256?: string },
): AuditEntry {
  return {
    type: 'file',
    execution_id: session.id,
    tenant: session.tenant,
    subject: caller.subject,
    backend: session.backend,
    detail: { kind: 'session_file', ...file },
  };
}

/**
 * One snapshot operation on a session: a snapshot taken, the session paused or resumed, or a snapshot deleted,
 * by whom, with the image's size and hash (never its content).
 */
export function sessionSnapshotEntry(
  session: Pick<Session, 'id' | 'tenant' | 'backend'>,
  caller: Caller,
  snapshot: {
    op: 'snapshot' | 'pause' | 'resume' | 'delete';
    snapshot_id?: string;
    size?: number;
    sha256?: string;
    /** Of a delete: by its tenant (`deleted`), or by the retention sweeper (`expired`). */
    reason?: 'deleted' | 'expired';
  },
): AuditEntry {
  return {
    type: 'snapshot',
    execution_id: session.id,
    tenant: session.tenant,
    subject: caller.subject,
    backend: session.backend,
    detail: { kind: 'session_snapshot', ...snapshot },
  };
}
