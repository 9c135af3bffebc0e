// Repairs the one kind of damage a crash can leave in an audit log: a torn last line (a write cut off before
// its newline). The torn bytes are cut off and a `repaired` record is appended saying what was cut (its byte
// count and sha256, never the bytes), so the repair itself is on the chain. Anything else wrong is refused:
// a complete line that does not verify is evidence, not damage. Must never cut a complete line, never run while
// another process holds the log's lock, and never copy the cut bytes anywhere.

import { open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FileAuditLog } from './file-audit-log.ts';
import { type AuditRecord, MAX_RECORD_BYTES, sha256Hex } from './record.ts';
import { verifyAuditLog } from './verify.ts';

export type RepairOutcome =
  | { repaired: false; records: number; last_hash: string }
  | { repaired: true; line: number; cut_bytes: number; cut_sha256: string; record: AuditRecord };

/** Why a log cannot be repaired: the chain is broken before its last line, or the log is in use. */
export class AuditRepairRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditRepairRefused';
  }
}

export async function repairTornTail(path: string): Promise<RepairOutcome> {
  const absolute = resolve(path);
  await refuseIfLocked(absolute);
  const report = await verifyAuditLog(absolute);
  if (report.ok) return { repaired: false, records: report.records, last_hash: report.last_hash };
  const torn = await tornTail(absolute);
  if (torn === null || !report.problem.startsWith('truncated last line:')) {
    throw new AuditRepairRefused(
      `FAILED at line ${report.line} (seq ${report.seq ?? 'unknown'}): ${report.problem}; ` +
        '--repair only cuts a torn last line, and this damage is elsewhere: keep the file as evidence',
    );
  }
  const line = report.line;
  const file = await open(absolute, 'r+');
  try {
    await file.truncate(torn.keepBytes);
    await file.datasync();
  } finally {
    await file.close();
  }
  const log = await FileAuditLog.open(absolute);
  try {
    const record = await log.append({
      type: 'repaired',
      execution_id: null,
      tenant: '',
      reason: `cut a torn last line (line ${line}, ${torn.bytes.length} bytes): a write was cut off`,
      detail: { line: line, cut_bytes: torn.bytes.length, cut_sha256: sha256Hex(torn.bytes) },
    });
    return {
      repaired: true,
      line: line,
      cut_bytes: torn.bytes.length,
      cut_sha256: sha256Hex(torn.bytes),
      record,
    };
  } finally {
    await log.close();
  }
}

/** The bytes after the last newline, when the file does not end with one (read from the end only). */
async function tornTail(path: string): Promise<{ keepBytes: number; bytes: Buffer } | null> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const length = Math.min(size, MAX_RECORD_BYTES);
    const window = Buffer.alloc(length);
    await file.read(window, 0, length, size - length);
    if (length === 0 || window[length - 1] === 0x0a) return null;
    const newline = window.lastIndexOf(0x0a);
    if (newline === -1 && length < size) return null; // longer than any record: not a torn write
    const keepBytes = size - length + newline + 1;
    return { keepBytes, bytes: Buffer.from(window.subarray(newline + 1)) };
  } finally {
    await file.close();
  }
}

async function refuseIfLocked(path: string): Promise<void> {
  const text = await readFile(`${path}.lock`, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // a lock left by a process that is gone
  }
  throw new AuditRepairRefused(`audit log ${path} is in use by process ${pid}; stop it before repairing`);
}
