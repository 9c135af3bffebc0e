// Public surface of @airlock/audit: the record types, the AuditSink interface, the file-backed log and its
// verifier. The CLI (verify-cli.ts) is an entry point, not exported; internals stay unexported.

export type { AuditSink } from './audit-sink.ts';
export {
  type AuditHealth,
  AuditUnavailableError,
  FileAuditLog,
  type FileAuditLogOptions,
  type FsyncMode,
} from './file-audit-log.ts';
export { CorruptAuditLogError, type TailRepair } from './log-tail.ts';
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
export { type VerifyReport, verifyAuditLog } from './verify.ts';
