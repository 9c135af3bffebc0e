export {
  type Actor,
  acceptedEntry,
  canceledEntry,
  finishedEntry,
  rejectedEntry,
  startedEntry,
} from './audit-entries.ts';
export { SandboxRegistry } from './backends.ts';
export { createExecutionWorker, decodeFiles, type ExecutionWorkerOptions } from './execution-worker.ts';
