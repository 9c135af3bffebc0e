// The audit log of a process on NATS (a worker or a scaled gateway) with each execution record copied to the
// shared audit stream once the local file has stored it, so any gateway shows one execution's records. The
// file stays the source of truth (`audit:verify`); a copy that fails is logged (at most once a minute) and the
// record stays in the file.

import { type AuditSink, mirroredSink } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { AuditStream } from '@airlock/queue';
import type { NatsConnection } from '@nats-io/transport-node';

/** Opens the stream (AIRLOCK_AUDIT_STREAM_* limits) and wraps `audit`; `source` names this process's log. */
export async function openAuditMirror(
  nc: NatsConnection,
  config: Config,
  logger: Logger,
  audit: AuditSink,
  source: string,
): Promise<{ stream: AuditStream; audit: AuditSink }> {
  const stream = await AuditStream.open({
    connection: nc,
    retentionMs: config.AIRLOCK_AUDIT_STREAM_RETENTION_SECONDS * 1000,
    retainedBytes: config.AIRLOCK_AUDIT_STREAM_RETAINED_BYTES,
  });
  let quiet = false;
  const onError = (err: unknown) => {
    if (quiet) return;
    quiet = true;
    logger.warn({ err }, 'audit record not copied to the audit stream (it is in the local log)');
    setTimeout(() => (quiet = false), 60_000).unref();
  };
  return {
    stream,
    audit: mirroredSink(audit, (record) => {
      stream.publish(source, record).catch(onError);
    }),
  };
}
