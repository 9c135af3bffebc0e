import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAuditLog } from './file-audit-log.ts';
import { makeTempDir, readLines, sampleEntry } from './log-fixture.ts';
import type { AuditRecord } from './record.ts';
import { verifyAuditLog } from './verify.ts';

const exec = promisify(execFile);

let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await dir.remove();
});

/** Run in a child whose file size limit (ulimit -f) makes the disk "fill up" after a few records. */
const WRITER = `
import { FileAuditLog } from ${JSON.stringify(join(import.meta.dirname, 'file-audit-log.ts'))};
import { sampleEntry } from ${JSON.stringify(join(import.meta.dirname, 'log-fixture.ts'))};
const log = await FileAuditLog.open(process.argv[2]);
const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(sampleEntry(i + 1))));
const later = await log.append(sampleEntry(99)).then(() => 'stored', (e) => e.message);
const closed = await log.close().then(() => 'closed', (e) => e.message);
console.log(JSON.stringify({
  stored: settled.filter((s) => s.status === 'fulfilled').map((s) => s.value),
  errors: [...new Set(settled.filter((s) => s.status === 'rejected').map((s) => s.reason.message))],
  later,
  closed,
}));
`;

describe('FileAuditLog when the disk refuses a write', () => {
  it('rejects the failed batch and every later append, and loses no acknowledged record', async () => {
    const file = join(dir.path, 'audit.jsonl');
    const script = join(dir.path, 'writer.mjs');
    await writeFile(script, WRITER);
    // dash counts ulimit -f in 512-byte blocks: 4 KiB is room for about ten records.
    const { stdout } = await exec('sh', [
      '-c',
      'ulimit -f 8 && exec "$0" "$@"',
      process.execPath,
      script,
      file,
    ]);
    const result = JSON.parse(stdout) as {
      stored: AuditRecord[];
      errors: string[];
      later: string;
      closed: string;
    };

    expect(result.stored.length).toBeGreaterThan(0);
    expect(result.stored.length).toBeLessThan(40);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(/EFBIG.*accepts no more records — reopen it/);
    expect(result.later).toBe(result.errors[0]);
    expect(result.closed).toBe(result.errors[0]);

    // Every acknowledged record is on disk; the partial write after them is the only damage.
    const reopened = await FileAuditLog.open(file, { repairTruncatedTail: true });
    const next = await reopened.append(sampleEntry(100));
    await reopened.close();
    const lines = (await readLines(file)).map((line) => JSON.parse(line) as AuditRecord);
    expect(lines.slice(0, result.stored.length)).toEqual(result.stored);
    expect(next.seq).toBe(lines.length);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: lines.length });
  });
});
