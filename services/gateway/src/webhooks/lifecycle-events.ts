// The lifecycle events of executions and sessions as this process sees them happen (the queue's finished
// listeners, the session registry's open and close), in the shape every surface shares (LifecycleEvent).
// Pure functions: the summary never carries program output, files or secrets.

import { randomBytes } from 'node:crypto';
import type { Execution, LifecycleEvent, LifecycleEventType, Session } from '@airlock/protocol';

function eventId(): string {
  return `evt_${randomBytes(16).toString('base64url')}`;
}

/** execution.accepted / execution.finished / execution.canceled about one execution. */
export function executionEvent(
  type: LifecycleEventType,
  execution: Execution,
  at = new Date(),
): LifecycleEvent {
  return {
    id: eventId(),
    type,
    tenant: execution.tenant,
    at: at.toISOString(),
    subject: execution.id,
    data: {
      status: execution.status,
      outcome: execution.result?.outcome ?? null,
      exit_code: execution.result?.exit_code ?? null,
      language: execution.language,
      backend: execution.backend,
      metadata: execution.metadata,
    },
  };
}

/** The terminal event of an execution: canceled when its outcome says so, finished otherwise. */
export function executionEndEvent(execution: Execution, at = new Date()): LifecycleEvent {
  const type = execution.result?.outcome === 'canceled' ? 'execution.canceled' : 'execution.finished';
  return executionEvent(type, execution, at);
}

/** session.created / session.closed about one session. */
export function sessionEvent(type: LifecycleEventType, session: Session, at = new Date()): LifecycleEvent {
  return {
    id: eventId(),
    type,
    tenant: session.tenant,
    at: at.toISOString(),
    subject: session.id,
    data: {
      status: session.status,
      language: session.language,
      backend: session.backend,
      closed_reason: session.closed_reason,
      metadata: session.metadata,
    },
  };
}

/** Whether an event ends its subject's life (no later event is about it). */
export function isTerminal(type: LifecycleEventType): boolean {
  return type === 'execution.finished' || type === 'execution.canceled' || type === 'session.closed';
}
