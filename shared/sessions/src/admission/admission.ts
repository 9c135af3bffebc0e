// The last step of accepting work, the same on every surface (REST, NATS, MCP, sessions): reserve what it
// spends (a use of the token, the tenant's rate, an in-flight slot), then make its `accepted` audit record
// durable; only then may it run. When the audit log cannot take the record, everything reserved is given back
// and the caller gets `503 audit_unavailable`. Must never let work start whose `accepted` record is not on disk.

import { type AuditEntry, type AuditSink, AuditUnavailableError } from '@airlock/audit';
import { AirlockError, type Caller } from '@airlock/protocol';
import type { Admission, AdmissionKind, Authorizer } from './authorizer.ts';

/** Retry-After of `audit_unavailable`: the audit log is probed again well within it. */
export const AUDIT_RETRY_AFTER_SECONDS = 5;

export async function admitWithRecord(
  authorizer: Authorizer,
  audit: AuditSink,
  caller: Caller,
  kind: AdmissionKind,
  accepted: AuditEntry,
): Promise<Admission> {
  const admission = authorizer.reserve(caller, kind);
  try {
    await audit.append(accepted);
  } catch (error) {
    admission.release();
    throw auditFailure(error);
  }
  return admission;
}

/** A failed append as the caller sees it: `audit_unavailable` when the log cannot be written. */
export function auditFailure(error: unknown): unknown {
  if (!(error instanceof AuditUnavailableError)) return error;
  return new AirlockError(
    'audit_unavailable',
    'the audit log cannot be written, so no work is accepted until it can; retry later',
    { retryAfter: AUDIT_RETRY_AFTER_SECONDS },
  );
}

/**
 * Records a refusal (with the execution id when its `accepted` record was already written). A refusal because
 * the audit log is failing is not appended again; a refusal the log cannot take is reported to `onError`.
 */
export async function recordRefusal(
  audit: AuditSink,
  entry: AuditEntry,
  code: string,
  onError: (error: unknown) => void,
): Promise<void> {
  if (code === 'audit_unavailable') return;
  await audit.append(entry).catch(onError);
}
