// What every isolate host process (one-shot host-main.ts, session-host-main.ts) does with its parent: send it
// messages while connected, and end at once after a catastrophic isolated-vm error, leaving a marker saying why.

import { writeSync } from 'node:fs';
import {
  HOST_FATAL_MARKER,
  type HostFatalKind,
  type HostMessage,
  type HostReports,
} from './host-messages.ts';

export function sendToParent(message: HostMessage): void {
  if (process.connected) process.send?.(message);
}

/** How the job (or cell) `id` reports its output and its result to the parent. */
export function reportToParent(id: string): HostReports {
  return {
    sendOutput: (chunks) => sendToParent({ type: 'output', id, chunks }),
    sendResult: (result, chunks) => sendToParent({ type: 'result', ...result, chunks }),
  };
}

/**
 * isolated-vm's onCatastrophicError: the process is not safe to continue, and process.exit() can hang here.
 * Leaves the parent a marker saying why (it reads it after the process has closed), then ends at once.
 */
export function endOnCatastrophicError(message: string): void {
  const kind: HostFatalKind = /out.of.memory/i.test(message) ? 'out-of-memory' : 'catastrophic';
  try {
    writeSync(2, `\n${HOST_FATAL_MARKER}${kind}\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}
