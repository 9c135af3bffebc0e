// The audit entries of a session's life: opened (like an accepted execution, with the capability), closed (with
// why), and each cell as an execution (accepted, started, finished) carrying `detail.session_id`. Hashes of code
// and output, never the code, output or rich outputs themselves.

import type { AuditEntry } from '@airlock/audit';
import type { Execution, ExecutionRequest, Session } from '@airlock/protocol';
import { type Actor, acceptedEntry, finishedEntry, startedEntry } from '@airlock/worker';

function who(actor: Actor) {
  return { issuer: actor.issuer, jti: actor.jti, act: actor.act ?? null };
}

export function sessionOpenedEntry(session: Session, actor: Actor, capability: unknown): AuditEntry {
  return {
    type: 'accepted',
    execution_id: session.id,
    tenant: session.tenant,
    subject: actor.subject,
    language: session.language,
    backend: session.backend,
    limits: { ...session.limits },
    metadata: { ...session.metadata },
    detail: {
      kind: 'session',
      ...who(actor),
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
  actor: Actor,
  capability: unknown,
  sessionId: string,
): AuditEntry {
  return withSession(acceptedEntry(execution, request, actor, capability), sessionId);
}

export function cellStartedEntry(execution: Execution, sessionId: string): AuditEntry {
  return withSession(startedEntry(execution), sessionId);
}

export function cellFinishedEntry(execution: Execution, sessionId: string): AuditEntry {
  return withSession(finishedEntry(execution), sessionId);
}
