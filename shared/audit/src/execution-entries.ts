// The audit entries of an execution's life: accepted (with who asked and the capability), started, finished,
// canceled, and a refused submission. Hashes of code and output, never the code, output or env values.

import type { Caller, Execution, ExecutionRequest } from '@airlock/protocol';
import { type AuditEntry, sha256Hex } from './record.ts';

/** The caller's token identity as a record's `detail` carries it (the tenant and subject have fields of their own). */
export function callerDetail(caller: Caller) {
  return { issuer: caller.issuer, jti: caller.jti, act: caller.act };
}

function identity(execution: Execution) {
  return {
    execution_id: execution.id,
    tenant: execution.tenant,
    language: execution.language,
    backend: execution.backend,
  };
}

export function acceptedEntry(
  execution: Execution,
  request: ExecutionRequest,
  caller: Caller,
  capability: unknown,
): AuditEntry {
  return {
    type: 'accepted',
    ...identity(execution),
    subject: caller.subject,
    limits: { ...execution.limits },
    code_sha256: sha256Hex(request.code),
    metadata: { ...execution.metadata },
    detail: {
      ...callerDetail(caller),
      capability: capability ?? null,
      files: request.files.map((f) => ({ path: f.path, encoding: f.encoding, sha256: sha256Hex(f.content) })),
      env_names: Object.keys(request.env).sort(),
      args: request.args.length,
      stdin_sha256: sha256Hex(request.stdin),
      network: request.network.egress,
    },
  };
}

export function startedEntry(execution: Execution): AuditEntry {
  return { type: 'started', ...identity(execution) };
}

export function finishedEntry(execution: Execution): AuditEntry {
  const result = execution.result;
  return {
    type: 'finished',
    ...identity(execution),
    outcome: result?.outcome ?? 'internal_error',
    exit_code: result?.exit_code ?? null,
    reason: result?.reason ?? null,
    output_sha256: { stdout: sha256Hex(result?.stdout ?? ''), stderr: sha256Hex(result?.stderr ?? '') },
    usage: result ? { ...result.usage } : {},
    detail: {
      signal: result?.signal ?? null,
      truncated: result ? { ...result.truncated } : null,
      started_at: execution.started_at,
      finished_at: execution.finished_at,
      // Every egress decision of the run (no secret values: hosts, paths, names only).
      ...(result?.egress === undefined ? {} : { egress: result.egress }),
    },
  };
}

export function canceledEntry(execution: Execution, caller: Caller): AuditEntry {
  return {
    type: 'canceled',
    ...identity(execution),
    subject: caller.subject,
    detail: { status: execution.status },
  };
}

/** A refused submission; `caller` is undefined when authentication itself failed. */
export function rejectedEntry(
  caller: Caller | undefined,
  error: { code: string; message: string; field?: string | undefined },
  language?: string,
): AuditEntry {
  const entry: AuditEntry = {
    type: 'rejected',
    execution_id: null,
    tenant: caller?.tenant ?? 'unauthenticated',
    subject: caller?.subject ?? null,
    reason: error.message,
    detail: {
      ...(caller ? callerDetail(caller) : { issuer: null, jti: null, act: null }),
      decision: 'refused',
      code: error.code,
      field: error.field ?? null,
    },
  };
  if (language !== undefined) entry.language = language;
  return entry;
}
