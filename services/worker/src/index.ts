export {
  type Actor,
  acceptedEntry,
  canceledEntry,
  finishedEntry,
  rejectedEntry,
  startedEntry,
} from './audit-entries.ts';
export { type AuditLock, AuditLockError, lockAuditLog } from './audit-lock.ts';
export { SandboxRegistry } from './backends.ts';
export type { EgressBroker } from './egress-broker.ts';
export { createExecutionWorker, decodeFiles, type ExecutionWorkerOptions } from './execution-worker.ts';
export { RemoteEgressBroker } from './remote-egress-broker.ts';
export { RemoteEgressNetwork } from './remote-egress-network.ts';
export { startSandboxes } from './sandbox-setup.ts';
export { connectToNats, openAuditLog } from './startup-steps.ts';
export { type WorkerEgress, WorkerEgressError } from './worker-egress.ts';
export { startWorker, type WorkerService } from './worker-service.ts';
