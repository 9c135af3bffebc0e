// A JobQueue with another submit() in front of the queue's own (to track what is accepted, or to see what a
// caller submits), every other method the queue's. Must never change what the queue itself does.

import type { JobQueue } from './job-queue.ts';

export function withSubmit(queue: JobQueue, submit: JobQueue['submit']): JobQueue {
  return {
    submit,
    get: (tenant, id) => queue.get(tenant, id),
    cancel: (tenant, id) => queue.cancel(tenant, id),
    wait: (tenant, id, timeoutMs) => queue.wait(tenant, id, timeoutMs),
    watch: (tenant, id, signal) => queue.watch(tenant, id, signal),
    consume: (worker) => queue.consume(worker),
    stats: () => queue.stats(),
    onFinished: (listener) => queue.onFinished(listener),
    drain: (timeoutMs) => queue.drain(timeoutMs),
    close: () => queue.close(),
  };
}
