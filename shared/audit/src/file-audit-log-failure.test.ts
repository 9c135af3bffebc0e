import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditUnavailableError, FileAuditLog } from './file-audit-log.ts';
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
const health = [];
const log = await FileAuditLog.open(process.argv[2], { onHealthChange: (h) => health.push(h.healthy) });
const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(sampleEntry(i + 1))));
// A single record fits again once the failed batch is cut off: the next append is a successful retry.
const later = await log.append(sampleEntry(99)).then((r) => r, (e) => e.name + ': ' + e.message);
const state = log.health;
const closed = await log.close().then(() => 'closed', (e) => e.name);
console.log(JSON.stringify({
  stored: settled.filter((s) => s.status === 'fulfilled').map((s) => s.value),
  errors: [...new Set(settled.filter((s) => s.status === 'rejected').map((s) => s.reason.name + ': ' + s.reason.message))],
  later,
  health,
  state,
  closed,
}));
`;

describe('FileAuditLog when the disk refuses a write', () => {
  it('rejects the failed batch, cuts the file back to the last good record, and recovers on the next write that fits', async () => {
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
      later: AuditRecord;
      health: boolean[];
      state: { healthy: boolean; error: string };
      closed: string;
    };

    expect(result.stored.length).toBeGreaterThan(0);
    expect(result.stored.length).toBeLessThan(40);
    expect(result.errors).toEqual([
      `AuditUnavailableError: audit log ${file} cannot be written: EFBIG: file too large, write`,
    ]);
    // The retry continues the chain from the last stored record, not from the refused ones.
    expect(result.later).toMatchObject({
      seq: result.stored.length + 1,
      prev_hash: result.stored.at(-1)!.hash,
    });
    expect(result.health).toEqual([false, true]);
    expect(result.state).toEqual({ healthy: true });
    expect(result.closed).toBe('closed');

    // Exactly the acknowledged records are on disk: no torn line, nothing unacknowledged.
    const lines = (await readLines(file)).map((line) => JSON.parse(line) as AuditRecord);
    expect(lines).toEqual([...result.stored, result.later]);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: result.stored.length + 1 });
  });

  it('refuses to go on, and cuts nothing, when someone else changed the file', async () => {
    const file = join(dir.path, 'audit.jsonl');
    const log = await FileAuditLog.open(file, { probeIntervalMs: 10 });
    try {
      await log.append(sampleEntry(1));
      const intruder = '{"seq":2,"note":"written by someone else"}\n';
      await appendFile(file, intruder);
      const refused = (await log.append(sampleEntry(2)).catch((error: unknown) => error)) as Error;
      expect(refused).toBeInstanceOf(AuditUnavailableError);
      expect(refused.message).toMatch(/it was changed by another writer$/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(log.health.healthy).toBe(false);
      expect((await readFile(file, 'utf8')).endsWith(intruder)).toBe(true);
    } finally {
      await log.close().catch(() => {});
    }
  });
});
