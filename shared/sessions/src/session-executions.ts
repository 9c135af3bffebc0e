// A session and its cells as what the rest of the service knows: the execution request a session open or a
// cell is authorized and audited as, and the execution record of a cell. Pure functions; no I/O.

import {
  type CellRequest,
  cellRunFields,
  type Execution,
  type ExecutionRequest,
  newExecutionId,
  type ResolvedLimits,
  type Session,
  type SessionRequest,
} from '@airlock/protocol';

/** A session open as the execution request it is authorized like (no code, files or stdin yet). */
export function sessionAsRequest(request: SessionRequest): ExecutionRequest {
  return {
    language: request.language,
    code: '',
    files: [],
    stdin: '',
    args: [],
    env: {},
    limits: request.limits,
    backend: request.backend,
    ...(request.template === undefined ? {} : { template: request.template }),
    network: request.network,
    metadata: request.metadata,
    ...(request.callback ? { callback: request.callback } : {}),
  };
}

/** A cell as the execution request the audit entries know (no args, env or network). */
export function cellAsRequest(session: Session, cell: CellRequest): ExecutionRequest {
  return {
    language: session.language,
    ...cellRunFields(cell),
    backend: session.backend,
    network: { egress: 'none' },
    metadata: {},
  };
}

/** The execution record of a cell that starts now, with the limits resolved for it. */
export function newCellExecution(session: Session, limits: ResolvedLimits): Execution {
  const now = new Date().toISOString();
  return {
    id: newExecutionId(),
    tenant: session.tenant,
    status: 'running',
    language: session.language,
    backend: session.backend,
    limits,
    metadata: {},
    created_at: now,
    started_at: now,
    finished_at: null,
    result: null,
    template: session.template,
    session_id: session.id,
  };
}
