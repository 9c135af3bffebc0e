// Start-up steps the gateway (embedded and scaled) and the worker process share. Each acquires one thing and
// puts its release on the caller's cleanup stack at once, so a later step that fails releases it again.
// Must never acquire anything whose release is not on the stack before the next await.

import { FileAuditLog, type FileAuditLogOptions } from '@airlock/audit';
import type { Config } from '@airlock/config';
import { connectNats } from '@airlock/queue';
import type { NatsConnection } from '@nats-io/transport-node';
import { lockAuditLog } from './audit-lock.ts';

/** This process's audit log: its lock file (one writer per file across processes), then the log itself. */
export async function openAuditLog(
  stack: AsyncDisposableStack,
  config: Config,
  options: Pick<FileAuditLogOptions, 'onHealthChange'> = {},
): Promise<FileAuditLog> {
  const lock = await lockAuditLog(config.AIRLOCK_AUDIT_LOG);
  stack.defer(() => lock.release());
  const audit = await FileAuditLog.open(config.AIRLOCK_AUDIT_LOG, {
    fsync: config.AIRLOCK_AUDIT_FSYNC,
    ...options,
  });
  stack.defer(() => audit.close());
  return audit;
}

/** The NATS connection of a gateway or worker (AIRLOCK_NATS_URL); drained on release (closed if that fails). */
export async function connectToNats(
  stack: AsyncDisposableStack,
  config: Config,
  /** Shown by the server for this client, e.g. `airlock-worker`. */
  name: string,
): Promise<NatsConnection> {
  const nc = await connectNats({ servers: config.AIRLOCK_NATS_URL, name });
  stack.defer(() => nc.drain().catch(() => nc.close()));
  return nc;
}
