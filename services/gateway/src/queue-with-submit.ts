// A JobQueue with another submit() in front of it: every other call goes to the queue as it is. For a gateway
// that watches what it accepts (nats/accepted-here.ts) and for tests that look at a submission on its way in.
// Must never change what a call other than submit() does.

import type { JobQueue } from '@airlock/queue';

export function withSubmit(queue: JobQueue, submit: JobQueue['submit']): JobQueue {
  return {
    submit,
    get: (tenant, id) => queue.get(tenant, id),
    cancel: (tenant, id) => queue.cancel(tenant, id),
    wait: (tenant, id, timeoutMs) => queue.wait(tenant, id, timeoutMs),
    watch: (tenant, id, signal) => queue.watch(tenant, id, signal),
    consume: (worker) => queue.consume(worker),
    stats: () => queue.stats(),
    close: () => queue.close(),
  };
}
