export { EventLog } from './event-log.ts';
export { type EventListener, watchEvents } from './execution-watch.ts';
export {
  AUDIT_STREAM,
  type AuditRecordLike,
  AuditStream,
  type AuditStreamOptions,
  connectNats,
  JetStreamJobQueue,
  type JetStreamJobQueueOptions,
  MAX_RUNS,
  type MirroredAuditRecord,
  type NatsConnectOptions,
  type QueueNameOptions,
  readSubject,
  WORKERS_BUCKET,
  WorkerHeartbeat,
  type WorkerHeartbeatOptions,
  WorkerRoster,
  type WorkerRosterOptions,
} from './jetstream/index.ts';
export type {
  FinishedListener,
  Job,
  JobContext,
  JobQueue,
  JobWorker,
  QueueStats,
  SubmitInput,
  SubmitOutcome,
} from './job-queue.ts';
export { MemoryJobQueue } from './memory-job-queue.ts';
export { DEFAULT_MAX_EVENT_BYTES, type MemoryJobQueueOptions } from './memory-options.ts';
export { requestHash } from './request-hash.ts';
export { finishedExecution } from './results.ts';
export { withSubmit } from './with-submit.ts';
