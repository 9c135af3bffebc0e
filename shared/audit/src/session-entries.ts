// The audit entries of a session's life: opened (like an accepted execution, with the capability), closed (with
// why), and each cell as an execution (accepted, started, finished) carrying `detail.session_id`. Hashes of code
// and output, never the code, output or rich outputs themselves.

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
