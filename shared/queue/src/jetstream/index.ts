// The JetStream queue's public surface, for the package's src/index.ts to re-export by name.
export { JetStreamJobQueue } from './jetstream-job-queue.ts';
export type { JetStreamJobQueueOptions, QueueNameOptions } from './jetstream-options.ts';
