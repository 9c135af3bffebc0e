export { SandboxRegistry, type TemplateSource } from './backends.ts';
export type { EgressBroker } from './egress-broker.ts';
export { createExecutionWorker, decodeFiles, type ExecutionWorkerOptions } from './execution-worker.ts';
export { RemoteEgressBroker } from './remote-egress-broker.ts';
export { RemoteEgressNetwork } from './remote-egress-network.ts';
export { startSandboxes } from './sandbox-setup.ts';
export { type WorkerEgress, WorkerEgressError } from './worker-egress.ts';
export { startWorker, type WorkerService } from './worker-service.ts';
export { type WorkerStatusSource, workerStatus } from './worker-status.ts';
