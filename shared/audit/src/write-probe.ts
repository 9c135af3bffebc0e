// Whether the audit log's file system takes writes again: a probe file beside the log (same directory, same
// file system) is written, synced and removed. Used while the log is failing, so the service can recover on
// its own without anyone submitting work. Must never touch the log file itself.

import { open, unlink } from 'node:fs/promises';

/** Bytes the probe writes: enough that a nearly full file system still fails it. */
const PROBE_BYTES = 64 * 1024;

/** Resolves when `${logPath}.probe` could be written and synced; rejects with the file system's error. */
export async function probeWritable(logPath: string): Promise<void> {
  const path = `${logPath}.probe`;
  const file = await open(path, 'w', 0o600);
  try {
    await file.write(Buffer.alloc(PROBE_BYTES, 0x0a));
    await file.datasync();
  } finally {
    await file.close();
    await unlink(path).catch(() => {});
  }
}
