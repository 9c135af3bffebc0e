export { EventLog } from './event-log.ts';
export { type EventListener, emitLive, type LiveEvents, watchEvents, watchLive } from './execution-watch.ts';
export {
  AUDIT_STREAM,
  type AuditRecordLike,
  AuditStream,
  type AuditStreamOptions,
  bucketKeys,
  connectNats,
  ensureStream,
  JetStreamJobQueue,
  type JetStreamJobQueueOptions,
  MAX_RUNS,
  type MirroredAuditRecord,
  type NatsConnectOptions,
  NS_PER_MS,
  type QueueNameOptions,
  readStream,
  type StreamRead,
  WORKERS_BUCKET,
  WorkerHeartbeat,
  type WorkerHeartbeatOptions,
  WorkerRoster,
  type WorkerRosterOptions,
} from './jetstream/index.ts';
export type * from './job-queue.ts';
export { MemoryJobQueue } from './memory-job-queue.ts';
export { DEFAULT_MAX_EVENT_BYTES, type MemoryJobQueueOptions } from './memory-options.ts';
export { requestHash } from './request-hash.ts';
export { finishedExecution } from './results.ts';
export { withSubmit } from './with-submit.ts';
