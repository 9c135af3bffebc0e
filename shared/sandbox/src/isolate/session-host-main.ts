// Entry point of a session host: a child process an IsolateSessionLease forks for one JavaScript/TypeScript
// session and keeps for the session's lifetime. It holds one isolate (kept-isolate.ts) and runs the session's cells
// in it one at a time (cell-run.ts); files sent with cells stay readable by later cells. Its one argument is the
// isolate's memory limit (MB). It speaks the same validated messages as the one-shot host (host-messages.ts).
// Must never run two cells at once, never run a cell after its isolate is gone, and never outlive its parent.

import { posix } from 'node:path';
import { CellRun } from './cell-run.ts';
import { GuestRuntimeCode } from './guest-runtime.ts';
import {
  type HostJob,
  type HostMessage,
  type HostSessionEnd,
  MIN_MEMORY_MB,
  parseParentMessage,
} from './host-messages.ts';
import { endOnCatastrophicError, reportToParent, sendToParent } from './host-process.ts';
import { KeptIsolate } from './kept-isolate.ts';

function refused(id: string, reason: string, sessionEnd?: HostSessionEnd): HostMessage {
  return {
    type: 'result',
    id,
    outcome: 'internal_error',
    exit_code: null,
    reason,
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: null, wall_ms: 0, memory_peak_bytes: null },
    chunks: [],
    ...(sessionEnd !== undefined ? { session_end: sessionEnd } : {}),
  };
}

const memoryMb = Number(process.argv[2]);
if (!Number.isSafeInteger(memoryMb) || memoryMb < MIN_MEMORY_MB) {
  throw new TypeError(`isolate session host: invalid memory limit ${JSON.stringify(process.argv[2])}`);
}
const kept = await KeptIsolate.create({
  memoryMb,
  code: new GuestRuntimeCode({ session: true }),
  onCatastrophicError: endOnCatastrophicError,
});
const files = new Map<string, Uint8Array>();
let current: CellRun | null = null;
let cells = 0;

async function runCell(job: HostJob): Promise<void> {
  for (const file of job.files) files.set(posix.normalize(file.path), file.content);
  cells += 1;
  const cell = new CellRun(job, kept, files, cells, reportToParent(job.id));
  current = cell;
  try {
    await cell.run();
  } finally {
    current = null;
  }
}

process.on('message', (raw: unknown) => {
  const message = parseParentMessage(raw);
  if (message === null) return;
  if (message.type === 'cancel') {
    if (current?.id === message.id) current.cancel();
    return;
  }
  if (current !== null) {
    sendToParent(refused(message.job.id, 'isolate session host was handed a second cell while busy'));
  } else if (kept.disposed) {
    sendToParent(refused(message.job.id, "the session's isolate is gone", 'interpreter_exited'));
  } else {
    void runCell(message.job);
  }
});

process.on('disconnect', () => process.exit(0));

sendToParent({ type: 'ready', v8: process.versions.v8 });
