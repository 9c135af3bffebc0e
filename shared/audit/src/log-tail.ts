// Reads the end of an existing audit log so a writer can resume its chain (last seq and hash), refusing a
// corrupt tail and, only when asked, dropping an incomplete final line left by a crash mid-write.
// Must never rewrite or drop a complete line, and never read more than the last few records (the whole file
// is scanned only to number the line in an error message).

import type { FileHandle } from 'node:fs/promises';
import { type ChainLink, checkLine } from './check-line.ts';
import { GENESIS_HASH, MAX_RECORD_BYTES } from './record.ts';

/** Where the next record goes. */
export interface ChainHead {
  nextSeq: number;
  prevHash: string;
}

/** What repairTruncatedTail dropped. */
export interface TailRepair {
  /** Line number of the incomplete line that was dropped. */
  line: number;
  droppedBytes: number;
}

/** Thrown by FileAuditLog.open when the existing file cannot be safely continued. */
export class CorruptAuditLogError extends Error {
  readonly path: string;
  /** 1-based line number of the bad line. */
  readonly line: number;
  /** True for a torn last line, which `npm run audit:verify -- --repair FILE` cuts off (and records). */
  readonly repairable: boolean;

  constructor(path: string, line: number, problem: string, repairable = false) {
    const advice = repairable
      ? `Cut it off (a "repaired" record says what was cut) with: npm run audit:verify -- --repair ${path}`
      : `Check it with: npm run audit:verify -- ${path}`;
    super(`audit log ${path}: line ${line}: ${problem}; refusing to append. ${advice}`);
    this.name = 'CorruptAuditLogError';
    this.path = path;
    this.line = line;
    this.repairable = repairable;
  }
}

export async function resumeChain(
  file: FileHandle,
  path: string,
  repairTruncatedTail: boolean,
): Promise<{ head: ChainHead; repaired: TailRepair | null }> {
  let repaired: TailRepair | null = null;
  for (;;) {
    const { size } = await file.stat();
    if (size === 0) return { head: { nextSeq: 1, prevHash: GENESIS_HASH }, repaired };
    const start = Math.max(0, size - 3 * MAX_RECORD_BYTES);
    const window = await readAt(file, start, size - start);
    const completeEnd = start + lastNewlineBefore(window, window.length) + 1;
    if (completeEnd === size) return { head: await checkTail(file, path, start, window), repaired };
    // The file does not end with '\n': the last write was cut off.
    const line = (await countNewlines(file, completeEnd)) + 1;
    if (completeEnd <= start) {
      throw new CorruptAuditLogError(
        path,
        line,
        `line is longer than ${MAX_RECORD_BYTES} bytes: not a record`,
      );
    }
    const droppedBytes = size - completeEnd;
    if (!repairTruncatedTail) {
      throw new CorruptAuditLogError(
        path,
        line,
        `incomplete last line (${droppedBytes} bytes without a trailing newline: a write was cut off)`,
        true,
      );
    }
    await file.truncate(completeEnd);
    await file.datasync();
    repaired = { line, droppedBytes };
  }
}

/** Checks the last one or two complete lines of a file that ends with '\n' and returns the chain head. */
async function checkTail(file: FileHandle, path: string, start: number, window: Buffer): Promise<ChainHead> {
  const lastEnd = window.length - 1;
  const lastStart = lastNewlineBefore(window, lastEnd) + 1;
  const last = await parseAt(file, path, start, window, lastStart, lastEnd);
  if (start + lastStart === 0) {
    if (last.link.seq !== 1 || last.link.prev_hash !== GENESIS_HASH) {
      throw new CorruptAuditLogError(
        path,
        1,
        'the only record is not a first record (seq 1, genesis prev_hash)',
      );
    }
  } else {
    const before = await parseAt(
      file,
      path,
      start,
      window,
      lastNewlineBefore(window, lastStart - 1) + 1,
      lastStart - 1,
    );
    if (last.link.seq !== before.link.seq + 1 || last.link.prev_hash !== before.link.hash) {
      const line = (await countNewlines(file, start + lastStart)) + 1;
      throw new CorruptAuditLogError(
        path,
        line,
        `the last record (seq ${last.link.seq}) does not follow the record before it (seq ${before.link.seq})`,
      );
    }
  }
  return { nextSeq: last.link.seq + 1, prevHash: last.link.hash };
}

/** Parses the line at window[from, to) or throws a CorruptAuditLogError naming it. */
async function parseAt(
  file: FileHandle,
  path: string,
  start: number,
  window: Buffer,
  from: number,
  to: number,
): Promise<{ link: ChainLink }> {
  const lineNumber = async () => (await countNewlines(file, start + from)) + 1;
  if (from === 0 && start > 0) {
    throw new CorruptAuditLogError(
      path,
      await lineNumber(),
      `line is longer than ${MAX_RECORD_BYTES} bytes: not a record`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(window.subarray(from, to));
  } catch {
    throw new CorruptAuditLogError(path, await lineNumber(), 'line is not valid UTF-8');
  }
  const checked = checkLine(text);
  if (!checked.ok) throw new CorruptAuditLogError(path, await lineNumber(), checked.problem);
  return { link: checked.link };
}

/** Index of the last '\n' in buffer[0, end), or -1. (Buffer.lastIndexOf reads a negative offset from the end.) */
function lastNewlineBefore(buffer: Buffer, end: number): number {
  return end <= 0 ? -1 : buffer.lastIndexOf(10, end - 1);
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function countNewlines(file: FileHandle, end: number): Promise<number> {
  let count = 0;
  for (let position = 0; position < end; ) {
    const chunk = await readAt(file, position, Math.min(1024 * 1024, end - position));
    if (chunk.length === 0) break;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count += 1;
    position += chunk.length;
  }
  return count;
}
