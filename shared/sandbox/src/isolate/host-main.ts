// Entry point of an isolate host: a child process the IsolateSandbox forks to run jobs, one at a time, each in
// a brand-new isolate. While idle it prepares the next job's isolate (see warm-isolate.ts). It validates every
// message from its parent, streams output back, and exits when the parent goes away. Its one argument is the
// memory limit (MB) to keep an isolate prepared for. Must never run more than one job at once, never give an
// isolate to a second job, and never outlive its parent.

import { GuestRuntimeCode } from './guest-runtime.ts';
import { type HostJob, type HostMessage, MIN_MEMORY_MB, parseParentMessage } from './host-messages.ts';
import { endOnCatastrophicError, reportToParent, sendToParent } from './host-process.ts';
import { IsolateJob } from './isolate-job.ts';
import { primeGuestRuntime } from './runtime-cache.ts';
import { WarmIsolate } from './warm-isolate.ts';

const warmMemoryMb = Number(process.argv[2]);
if (!Number.isSafeInteger(warmMemoryMb) || warmMemoryMb < MIN_MEMORY_MB) {
  throw new TypeError(`isolate host: invalid warm memory limit ${JSON.stringify(process.argv[2])}`);
}
const code = new GuestRuntimeCode();
const warm = new WarmIsolate({ memoryMb: warmMemoryMb, code, onCatastrophicError: endOnCatastrophicError });
let current: IsolateJob | null = null;
/**
 * A job that arrived while the current one was still being cleaned up: a job's result goes out before its
 * isolate is disposed (so the caller is not kept waiting), and the parent may hand over the next job in that
 * window. It starts as soon as the current job is over; only one can wait.
 */
let pending: HostJob | null = null;

async function runJob(job: HostJob): Promise<void> {
  const isolateJob = new IsolateJob(job, reportToParent(job.id));
  current = isolateJob;
  try {
    await isolateJob.run(warm.take(isolateJob.memoryMb));
  } finally {
    current = null;
    const next = pending;
    pending = null;
    if (next !== null) void runJob(next);
    else void warm.prepare();
  }
}

function unstartedResult(id: string, outcome: 'internal_error' | 'canceled', reason: string): HostMessage {
  return {
    type: 'result',
    id,
    outcome,
    exit_code: null,
    reason,
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: null, wall_ms: 0, memory_peak_bytes: null },
    chunks: [],
  };
}

process.on('message', (raw: unknown) => {
  const message = parseParentMessage(raw);
  if (message === null) return;
  if (message.type === 'cancel') {
    if (current?.id === message.id) current.cancel();
    else if (pending?.id === message.id) {
      pending = null;
      sendToParent(unstartedResult(message.id, 'canceled', 'canceled before it started'));
    }
    return;
  }
  if (current === null) {
    void runJob(message.job);
  } else if (pending === null) {
    pending = message.job;
  } else {
    sendToParent(
      unstartedResult(message.job.id, 'internal_error', 'isolate host was handed a third job while busy'),
    );
  }
});

process.on('disconnect', () => process.exit(0));

// The runtime's code cache is primed and the first isolate prepared before the host says it is ready.
await primeGuestRuntime(code);
await warm.prepare();
sendToParent({ type: 'ready', v8: process.versions.v8 });
