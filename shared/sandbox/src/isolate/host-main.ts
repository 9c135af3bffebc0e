// Entry point of an isolate host: a child process the IsolateSandbox forks to run jobs, one at a time, each in
// a fresh isolate. It validates every message from its parent, streams output back, and exits when the parent
// goes away. Must never run more than one job at once, and never outlive its parent.

import { writeSync } from 'node:fs';
import {
  HOST_FATAL_MARKER,
  type HostFatalKind,
  type HostJob,
  type HostMessage,
  parseParentMessage,
} from './host-messages.ts';
import { IsolateJob } from './isolate-job.ts';

function send(message: HostMessage): void {
  if (process.connected) process.send?.(message);
}

function onCatastrophicError(message: string): void {
  // isolated-vm: the process is not safe to continue, and process.exit() can hang here. Leave the parent a
  // marker saying why, then end at once; the parent reads the marker after the process has closed.
  const kind: HostFatalKind = /out.of.memory/i.test(message) ? 'out-of-memory' : 'catastrophic';
  try {
    writeSync(2, `\n${HOST_FATAL_MARKER}${kind}\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}

let current: IsolateJob | null = null;

async function runJob(job: HostJob): Promise<void> {
  let isolateJob: IsolateJob;
  try {
    isolateJob = new IsolateJob(job, {
      sendOutput: (chunks) => send({ type: 'output', id: job.id, chunks }),
      onCatastrophicError,
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    send(failedResult(job.id, `could not create an isolate: ${detail}`));
    return;
  }
  current = isolateJob;
  try {
    const result = await isolateJob.run();
    send({ type: 'result', ...result });
  } finally {
    current = null;
  }
}

function failedResult(id: string, reason: string): HostMessage {
  return {
    type: 'result',
    id,
    outcome: 'internal_error',
    exit_code: null,
    reason,
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: null, wall_ms: 0, memory_peak_bytes: null },
  };
}

process.on('message', (raw: unknown) => {
  const message = parseParentMessage(raw);
  if (message === null) return;
  if (message.type === 'cancel') {
    if (current?.id === message.id) current.cancel();
    return;
  }
  if (current !== null) {
    send(failedResult(message.job.id, 'isolate host was handed a second job while busy'));
    return;
  }
  void runJob(message.job);
});

process.on('disconnect', () => process.exit(0));

send({ type: 'ready', v8: process.versions.v8 });
