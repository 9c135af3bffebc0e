// Test-only helpers: a temporary directory, a small real log written through FileAuditLog, and line-level
// edits of it. Must never be imported by library code (index.ts does not export it).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '@airlock/protocol';
import { FileAuditLog } from './file-audit-log.ts';
import { type AuditEntry, type AuditRecord, hashRecord } from './record.ts';

/** A fresh directory under the OS temp dir; remove it with `remove()` (tests call it in afterEach). */
export async function makeTempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'airlock-audit-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function sampleEntry(n: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    type: n % 2 === 0 ? 'started' : 'accepted',
    execution_id: `exe_${n}`,
    tenant: 'acme',
    subject: 'agent-7',
    language: 'python',
    limits: { timeout_ms: 5000, memory_mb: 256 },
    metadata: { n: String(n) },
    ...extra,
  };
}

/** Writes `count` records through a real FileAuditLog and returns them. */
export async function writeSampleLog(path: string, count: number): Promise<AuditRecord[]> {
  const log = await FileAuditLog.open(path, { fsync: 'never' });
  const records = await Promise.all(Array.from({ length: count }, (_, i) => log.append(sampleEntry(i + 1))));
  await log.close();
  return records;
}

/** The complete lines of a log file, without their newlines. */
export async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').slice(0, -1);
}

export async function writeLines(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.map((line) => `${line}\n`).join(''));
}

/** Applies `change` to a line's record and (when `rehash`) recomputes its hash as a forger would; canonical output. */
export function editLine(
  line: string,
  change: (record: Record<string, unknown>) => void,
  rehash: boolean,
): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  change(record);
  if (rehash) record.hash = hashRecord(record);
  return canonicalJson(record);
}
