import { constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { appendFile, chmod, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAuditLog, type FsyncMode } from './file-audit-log.ts';
import { editLine, makeTempDir, readLines, sampleEntry, writeLines, writeSampleLog } from './log-fixture.ts';
import { CorruptAuditLogError } from './log-tail.ts';
import { type AuditEntry, type AuditRecord, GENESIS_HASH, MAX_RECORD_BYTES, sha256Hex } from './record.ts';
import { verifyAuditLog } from './verify.ts';

let dir: { path: string; remove: () => Promise<void> };
let file: string;

beforeEach(async () => {
  dir = await makeTempDir();
  file = join(dir.path, 'audit.jsonl');
});

afterEach(async () => {
  await dir.remove();
});

/** Whether this process holds `path` open for writing with O_DSYNC (from /proc/self/fdinfo). */
function writerIsDsync(path: string): boolean {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const flags = Number.parseInt(
      /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!,
      8,
    );
    // The access mode (O_ACCMODE, which fs.constants leaves out) is the low two bits: 0 is read-only.
    if ((flags & 0o3) !== constants.O_RDONLY) return (flags & constants.O_DSYNC) !== 0;
  }
  return false;
}

describe('FileAuditLog appends', () => {
  it('keeps call order for 1,000 appends from concurrent callers, and the chain verifies', async () => {
    const log = await FileAuditLog.open(file);
    const calls: string[] = [];
    const pending: Promise<AuditRecord>[] = [];
    const caller = async (name: string) => {
      for (let i = 0; i < 100; i += 1) {
        calls.push(`${name}-${i}`);
        pending.push(log.append(sampleEntry(i, { metadata: { call: `${name}-${i}` } })));
        // Interleave callers differently: some wait for their record, some only yield.
        if (i % 7 === 0) await pending.at(-1);
        else if (i % 3 === 0) await nextTurn();
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, c) => caller(`caller${c}`)));
    const returned = await Promise.all(pending);
    await log.close();

    expect(returned.map((r) => r.seq)).toEqual(calls.map((_, i) => i + 1));
    const stored = (await readLines(file)).map((line) => JSON.parse(line) as AuditRecord);
    expect(stored.map((r) => r.metadata?.call)).toEqual(calls);
    expect(stored.map((r) => r.seq)).toEqual(calls.map((_, i) => i + 1));
    expect(stored).toEqual(returned);
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 1000, last_hash: returned[999]!.hash });
  });

  it('chains the first record to 64 zeros and each next one to the hash before it', async () => {
    const log = await FileAuditLog.open(file);
    const first = await log.append(sampleEntry(1));
    const second = await log.append(sampleEntry(2));
    await log.close();
    expect(first).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prev_hash: first.hash });
    expect(first.time).toBe(new Date(first.time).toISOString());
  });

  it('stores only the entry fields and the chain fields, detached from the caller', async () => {
    const log = await FileAuditLog.open(file);
    const entry: AuditEntry = {
      type: 'finished',
      execution_id: 'exe_1',
      tenant: 'acme',
      code_sha256: sha256Hex('print(1)'),
      output_sha256: { stdout: sha256Hex('1\n'), stderr: sha256Hex('') },
      exit_code: 0,
      reason: undefined as unknown as null,
      detail: { hosts: ['example.test'] },
    };
    const record = await log.append(entry);
    (entry.detail as { hosts: string[] }).hosts.push('mutated.test');
    await log.close();
    const [line] = await readLines(file);
    const stored = JSON.parse(line!) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(
      ['code_sha256', 'detail', 'execution_id', 'exit_code', 'hash', 'output_sha256', 'prev_hash', 'seq']
        .concat(['tenant', 'time', 'type'])
        .sort(),
    );
    expect(stored.detail).toEqual({ hosts: ['example.test'] });
    expect(record.detail).toEqual({ hosts: ['example.test'] });
  });

  it('refuses an entry with an unknown or malformed field without using up a seq', async () => {
    const log = await FileAuditLog.open(file);
    const withToken = { ...sampleEntry(1), token: 'secret-value' } as AuditEntry;
    await expect(log.append(withToken)).rejects.toThrow("unknown field 'token'");
    await expect(log.append({ ...sampleEntry(1), type: 'deleted' as 'accepted' })).rejects.toThrow(/'type'/);
    await expect(log.append({ ...sampleEntry(1), detail: { n: Number.NaN } })).rejects.toThrow(/finite/);
    expect((await log.append(sampleEntry(1))).seq).toBe(1);
    await log.close();
    expect(await readFile(file, 'utf8')).not.toContain('secret-value');
  });

  it('refuses appends after close, and a second writer for the same file', async () => {
    const log = await FileAuditLog.open(file);
    await expect(FileAuditLog.open(join(dir.path, '.', 'audit.jsonl'))).rejects.toThrow(/already open/);
    await log.close();
    await expect(log.append(sampleEntry(1))).rejects.toThrow(/closed/);
    const again = await FileAuditLog.open(file);
    await again.close();
  });

  it('creates parent directories and a file only its owner can read', async () => {
    const nested = join(dir.path, 'a', 'b', 'audit.jsonl');
    const log = await FileAuditLog.open(nested);
    await log.append(sampleEntry(1));
    await log.close();
    expect((await stat(nested)).mode & 0o777).toBe(0o600);
  });

  it('tightens the mode of an existing file that others could read', async () => {
    await writeSampleLog(file, 1);
    await chmod(file, 0o644);
    const log = await FileAuditLog.open(file);
    await log.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a path that is not a regular file, leaving it untouched', async () => {
    const before = (await stat('/dev/null')).mode;
    await expect(FileAuditLog.open('/dev/null')).rejects.toThrow(/not a regular file/);
    expect((await stat('/dev/null')).mode).toBe(before);
  });

  it('rejects invalid options, quoting the bad value', async () => {
    await expect(FileAuditLog.open(file, { fsync: 'sometimes' as FsyncMode })).rejects.toThrow(
      /got sometimes \(string\)/,
    );
    await expect(FileAuditLog.open(file, { fsync: 'interval', intervalMs: 0 })).rejects.toThrow(/intervalMs/);
  });

  it("with fsync 'always', each record is in the file, written with O_DSYNC, when its append resolves", async () => {
    const log = await FileAuditLog.open(file);
    const seen: { inFile: boolean; dsync: boolean }[] = [];
    const appends = Array.from({ length: 40 }, (_, i) =>
      log.append(sampleEntry(i)).then((record) => {
        // Read at once, before the writer moves on: the writer's descriptor is still open.
        const text = readFileSync(file, 'utf8');
        seen.push({ inFile: text.includes(`"hash":"${record.hash}"`), dsync: writerIsDsync(file) });
        return record;
      }),
    );
    const records = await Promise.all(appends);
    await log.close();
    expect(seen).toEqual(records.map(() => ({ inFile: true, dsync: true })));
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 40, last_hash: records[39]!.hash });
  });

  for (const fsync of ['always', 'interval', 'never'] as const) {
    it(`writes a verifiable file with fsync '${fsync}'`, async () => {
      const log = await FileAuditLog.open(file, { fsync, intervalMs: 5 });
      const first = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(sampleEntry(i))));
      await new Promise((done) => setTimeout(done, 20));
      for (let i = 0; i < 20; i += 1) await log.append(sampleEntry(i));
      await log.close();
      expect(first.map((r) => r.seq)).toEqual(first.map((_, i) => i + 1));
      expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 70 });
    });
  }
});

describe('FileAuditLog.open on an existing file', () => {
  it('continues the chain after a reopen', async () => {
    const before = await writeSampleLog(file, 3);
    const log = await FileAuditLog.open(file);
    const next = await log.append(sampleEntry(4));
    await log.close();
    expect(next).toMatchObject({ seq: 4, prev_hash: before[2]!.hash });
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 4, last_hash: next.hash });
  });

  it('resumes and checks the tail of a log larger than the part it reads back', async () => {
    const writer = await FileAuditLog.open(file, { fsync: 'never' });
    const pad = 'x'.repeat(4000);
    const written = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => writer.append(sampleEntry(i, { detail: { pad } }))),
    );
    await writer.close();
    expect((await stat(file)).size).toBeGreaterThan(3 * MAX_RECORD_BYTES);
    const log = await FileAuditLog.open(file);
    expect(await log.append(sampleEntry(1001))).toMatchObject({ seq: 1001, prev_hash: written[999]!.hash });
    await log.close();
    await appendFile(file, '{"partial');
    await expect(FileAuditLog.open(file)).rejects.toThrow(/line 1002: incomplete last line/);
  });

  it('refuses a last line cut off mid-write, naming it, unless asked to repair', async () => {
    const before = await writeSampleLog(file, 5);
    await appendFile(file, '{"execution_id":"exe_6","hash":"ab');
    const refused = await FileAuditLog.open(file).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CorruptAuditLogError);
    expect(refused).toMatchObject({
      line: 6,
      repairable: true,
      message:
        `audit log ${file}: line 6: incomplete last line (34 bytes without a trailing newline: a write was cut ` +
        `off); refusing to append. Cut it off (a "repaired" record says what was cut) with: npm run ` +
        `audit:verify -- --repair ${file}`,
    });

    const log = await FileAuditLog.open(file, { repairTruncatedTail: true });
    expect(log.repairedTail).toEqual({ line: 6, droppedBytes: 34 });
    const next = await log.append(sampleEntry(6));
    await log.close();
    expect(next).toMatchObject({ seq: 6, prev_hash: before[4]!.hash });
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 6 });
  });

  it('drops a complete record whose newline never reached the disk only when asked', async () => {
    await writeSampleLog(file, 3);
    await truncate(file, (await stat(file)).size - 1);
    await expect(FileAuditLog.open(file)).rejects.toThrow(/line 3: incomplete last line/);
    const log = await FileAuditLog.open(file, { repairTruncatedTail: true });
    expect((await log.append(sampleEntry(3))).seq).toBe(3);
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 3 });
  });

  it('refuses a corrupt complete last line even with repairTruncatedTail', async () => {
    await writeSampleLog(file, 4);
    const lines = await readLines(file);
    lines[3] = editLine(lines[3]!, (r) => Object.assign(r, { tenant: 'other' }), false);
    await writeLines(file, lines);
    for (const options of [{}, { repairTruncatedTail: true }]) {
      const refused = await FileAuditLog.open(file, options).catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'CorruptAuditLogError', line: 4 });
      expect((refused as Error).message).toMatch(/content was edited/);
    }
    expect(await readLines(file)).toEqual(lines);
  });

  it('refuses a tail that is not JSON or does not follow the record before it', async () => {
    await writeSampleLog(file, 4);
    const lines = await readLines(file);
    await writeLines(file, [...lines.slice(0, 3), 'not json']);
    await expect(FileAuditLog.open(file)).rejects.toThrow(/line 4: invalid JSON/);
    await writeLines(file, [lines[0]!, lines[1]!, lines[3]!]);
    await expect(FileAuditLog.open(file)).rejects.toThrow(
      /line 3: the last record \(seq 4\) does not follow/,
    );
    await writeLines(file, [lines[1]!]);
    await expect(FileAuditLog.open(file)).rejects.toThrow(/line 1: the only record is not a first record/);
  });

  it('starts a fresh chain on an empty file', async () => {
    await writeFile(file, '');
    const log = await FileAuditLog.open(file);
    expect(await log.append(sampleEntry(1))).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
    await log.close();
  });
});
