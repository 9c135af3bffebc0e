// This process's audit log, as every process (embedded or scaled gateway, worker) opens it at start-up: first
// its lock file (one writer per file across processes), then the log. Each release goes on the caller's
// cleanup stack as soon as the part is acquired, so a later start-up step that fails releases it again.
// Must never open the log without holding its lock.

import { lockAuditLog } from './audit-lock.ts';
import { FileAuditLog, type FileAuditLogOptions } from './file-audit-log.ts';

export interface ProcessAuditLogOptions extends Pick<FileAuditLogOptions, 'fsync' | 'onHealthChange'> {
  /** The log file (AIRLOCK_AUDIT_LOG); `<path>.lock` is its lock. */
  path: string;
}

/** Locks and opens the log; the log's close and the lock's release are deferred on `stack`. */
export async function openAuditLog(
  stack: AsyncDisposableStack,
  options: ProcessAuditLogOptions,
): Promise<FileAuditLog> {
  const { path, ...logOptions } = options;
  const lock = await lockAuditLog(path);
  stack.defer(() => lock.release());
  const audit = await FileAuditLog.open(path, logOptions);
  stack.defer(() => audit.close());
  return audit;
}
