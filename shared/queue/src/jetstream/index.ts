// The JetStream queue's public surface, for the package's src/index.ts to re-export by name.
export {
  AUDIT_STREAM,
  type AuditRecordLike,
  AuditStream,
  type AuditStreamOptions,
  type MirroredAuditRecord,
} from './audit-stream.ts';
export { bucketKeys } from './bucket-keys.ts';
export { connectNats, type NatsConnectOptions } from './connection.ts';
export { JetStreamJobQueue } from './jetstream-job-queue.ts';
export type { JetStreamJobQueueOptions, QueueNameOptions } from './jetstream-options.ts';
export { MAX_RUNS } from './lost-run.ts';
export { WORKERS_BUCKET } from './names.ts';
export { ensureStream, NS_PER_MS, readStream, type StreamRead } from './streams.ts';
export {
  WorkerHeartbeat,
  type WorkerHeartbeatOptions,
  WorkerRoster,
  type WorkerRosterOptions,
} from './worker-presence.ts';
