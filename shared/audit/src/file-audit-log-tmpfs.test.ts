// The audit log on a real small tmpfs that fills up, and that is remounted read-only: appends are refused
// with AuditUnavailableError, no torn line is left, and the log recovers on its own once the file system
// takes writes again (the probe, with no append needed).

import { join } from 'node:path';
import { mountTmpfs, type TmpfsMount } from '@airlock/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditHealth, AuditUnavailableError, FileAuditLog } from './file-audit-log.ts';
import { readLines, sampleEntry } from './log-fixture.ts';
import type { AuditRecord } from './record.ts';
import { verifyAuditLog } from './verify.ts';

let disk: TmpfsMount;
let file: string;
let log: FileAuditLog | undefined;
let health: boolean[];

beforeEach(async () => {
  disk = await mountTmpfs(256 * 1024);
  file = join(disk.path, 'audit.jsonl');
  health = [];
});

afterEach(async () => {
  await log?.close().catch(() => {});
  log = undefined;
  await disk.unmount();
});

async function openLog(): Promise<FileAuditLog> {
  log = await FileAuditLog.open(file, {
    probeIntervalMs: 20,
    onHealthChange: (h: AuditHealth) => health.push(h.healthy),
  });
  return log;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Appends one record after another until one is refused; returns the stored ones and the refusal. */
async function appendUntilRefused(audit: FileAuditLog, from: number) {
  const stored: AuditRecord[] = [];
  for (let n = from; n < from + 10_000; n++) {
    try {
      stored.push(await audit.append(sampleEntry(n, { detail: { pad: 'x'.repeat(200) } })));
    } catch (error) {
      return { stored, error: error as Error };
    }
  }
  throw new Error('the full file system never refused a record');
}

describe('FileAuditLog on a tmpfs', () => {
  it('when the disk fills: refuses with AuditUnavailableError, leaves no torn line, recovers once space is freed', async () => {
    const audit = await openLog();
    const before = await Promise.all([1, 2, 3].map((n) => audit.append(sampleEntry(n))));
    await disk.fill();
    const { stored, error } = await appendUntilRefused(audit, 4);
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect(error.message).toBe(`audit log ${file} cannot be written: ENOSPC: no space left on device, write`);
    expect(audit.health).toMatchObject({ healthy: false, error: 'ENOSPC: no space left on device, write' });
    expect(health).toEqual([false]);
    // Still full: the probe keeps failing and a retry is refused the same way.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(audit.append(sampleEntry(0, { detail: { pad: 'x'.repeat(4000) } }))).rejects.toThrow(
      AuditUnavailableError,
    );
    expect(audit.health.healthy).toBe(false);

    const lines = (await readLines(file)).map((line) => JSON.parse(line) as AuditRecord);
    expect(lines).toEqual([...before, ...stored]);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: lines.length });

    await disk.free();
    await until(() => audit.health.healthy);
    expect(health).toEqual([false, true]);
    const after = await audit.append(sampleEntry(9999));
    expect(after).toMatchObject({ seq: lines.length + 1, prev_hash: lines.at(-1)!.hash });
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: lines.length + 1 });
  });

  it('when the file system is remounted read-only: refuses with EROFS, recovers once it is read-write', async () => {
    const audit = await openLog();
    const first = await audit.append(sampleEntry(1));
    // The log holds no file open while idle, so the file system can be remounted.
    await disk.readOnly();
    const refused = await audit.append(sampleEntry(2)).catch((e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(AuditUnavailableError);
    expect((refused as Error).message).toMatch(/cannot be written: EROFS: read-only file system/);
    expect(audit.health).toMatchObject({ healthy: false, error: expect.stringMatching(/^EROFS/) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(audit.health.healthy).toBe(false);

    await disk.readWrite();
    await until(() => audit.health.healthy);
    expect(health).toEqual([false, true]);
    const second = await audit.append(sampleEntry(3));
    expect(second).toMatchObject({ seq: 2, prev_hash: first.hash });
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 2, last_hash: second.hash });
  });
});
