// Public surface of @airlock/audit: the record types, the entries of an execution's and a session's life, the
// AuditSink interface, the file-backed log with its per-process lock, and its verifier. The CLI
// (verify-cli.ts) is an entry point, not exported; internals stay unexported.

export { type AuditLock, AuditLockError, lockAuditLog } from './audit-lock.ts';
export type { AuditSink } from './audit-sink.ts';
export {
  acceptedEntry,
  canceledEntry,
  finishedEntry,
  rejectedEntry,
  startedEntry,
} from './execution-entries.ts';
export {
  type AuditHealth,
  AuditUnavailableError,
  FileAuditLog,
  type FileAuditLogOptions,
  type FsyncMode,
} from './file-audit-log.ts';
export { CorruptAuditLogError, type TailRepair } from './log-tail.ts';
export { mirroredSink } from './mirrored-sink.ts';
export { openAuditLog, type ProcessAuditLogOptions } from './process-audit-log.ts';
export {
  AUDIT_EVENT_TYPES,
  type AuditEntry,
  type AuditEventType,
  type AuditRecord,
  GENESIS_HASH,
  hashRecord,
  MAX_RECORD_BYTES,
  sha256Hex,
} from './record.ts';
export {
  cellAcceptedEntry,
  cellFinishedEntry,
  cellStartedEntry,
  sessionClosedEntry,
  sessionFileEntry,
  sessionOpenedEntry,
  sessionSnapshotEntry,
} from './session-entries.ts';
export { type VerifyReport, verifyAuditLog } from './verify.ts';
