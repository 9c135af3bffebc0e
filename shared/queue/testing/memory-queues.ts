// In-process queues for a test file: built with test options, each closed after the test that made it.
// For tests only; never imported by the queue itself.

import { afterEach } from 'vitest';
import { MemoryJobQueue } from '../src/memory-job-queue.ts';
import type { MemoryJobQueueOptions } from '../src/memory-options.ts';
import { queueOptions } from './fixtures.ts';

/** Registers the closing of the queues after each test; returns the function that builds one. */
export function useMemoryQueues(): (overrides?: Partial<MemoryJobQueueOptions>) => MemoryJobQueue {
  const queues: MemoryJobQueue[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
  });
  return (overrides = {}) => {
    const queue = new MemoryJobQueue(queueOptions(overrides));
    queues.push(queue);
    return queue;
  };
}
