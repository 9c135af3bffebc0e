import { appendFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '@airlock/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { editLine, makeTempDir, readLines, writeLines, writeSampleLog } from './log-fixture.ts';
import { type AuditRecord, GENESIS_HASH, hashRecord, MAX_RECORD_BYTES } from './record.ts';
import { verifyAuditLog } from './verify.ts';

let dir: { path: string; remove: () => Promise<void> };
let file: string;
let records: AuditRecord[];
let lines: string[];

beforeEach(async () => {
  dir = await makeTempDir();
  file = join(dir.path, 'audit.jsonl');
  records = await writeSampleLog(file, 10);
  lines = await readLines(file);
});

afterEach(async () => {
  await dir.remove();
});

/** Writes `changed` over the log and returns the verifier's report. */
async function verifyLines(changed: string[]) {
  await writeLines(file, changed);
  return verifyAuditLog(file);
}

/** A forged record at `seq` chaining from `prevHash`, with a hash consistent with its own content. */
/** What a report that stops at `line` (record `seq`) says, its problem matching `problem`. */
function brokenAt(line: number, seq: number, problem: RegExp) {
  return { ok: false, line, seq, problem: expect.stringMatching(problem) };
}

function forged(seq: number, prevHash: string): string {
  const record: Record<string, unknown> = {
    type: 'finished',
    execution_id: 'exe_forged',
    tenant: 'acme',
    outcome: 'ok',
    seq,
    time: '2026-11-26T00:00:00.000Z',
    prev_hash: prevHash,
  };
  record.hash = hashRecord(record);
  return canonicalJson(record);
}

describe('verifyAuditLog on an intact log', () => {
  it('reports the record count and the last hash', async () => {
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 10, last_hash: records[9]!.hash });
  });

  it('accepts an empty log', async () => {
    await writeFile(file, '');
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 0, last_hash: GENESIS_HASH });
  });

  it('rejects when the file cannot be read', async () => {
    await expect(verifyAuditLog(join(dir.path, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);
  });
});

describe('verifyAuditLog names the first bad record', () => {
  it('a field edited without fixing the hash', async () => {
    lines[3] = editLine(lines[3]!, (r) => Object.assign(r, { tenant: 'other' }), false);
    const report = await verifyLines(lines);
    expect(report).toMatchObject({ ok: false, line: 4, seq: 4, records_checked: 3 });
    expect(report).toMatchObject({
      problem: expect.stringMatching(/content was edited.*hash does not match/),
    });
  });

  it('a field edited and its hash recomputed', async () => {
    lines[3] = editLine(lines[3]!, (r) => Object.assign(r, { outcome: 'ok' }), true);
    const report = await verifyLines(lines);
    expect(report).toMatchObject({ ok: false, line: 4, seq: 4, records_checked: 3 });
    expect(report).toMatchObject({ problem: expect.stringMatching(/edited and its hash recomputed/) });
  });

  it('the second-to-last record edited and rehashed: the earliest record the chain cannot vouch for', async () => {
    lines[8] = editLine(lines[8]!, (r) => Object.assign(r, { outcome: 'ok' }), true);
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(9, 9, /edited.*or line 10/));
  });

  it('a record replaced by a forgery that links to neither neighbour', async () => {
    lines[4] = forged(5, 'e'.repeat(64));
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(5, 5, /^record replaced/));
  });

  it('the first record edited, with or without a recomputed hash', async () => {
    const original = lines[0]!;
    lines[0] = editLine(original, (r) => Object.assign(r, { subject: 'admin' }), false);
    expect(await verifyLines(lines)).toMatchObject({ ok: false, line: 1, seq: 1, records_checked: 0 });
    lines[0] = editLine(original, (r) => Object.assign(r, { subject: 'admin' }), true);
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(1, 1, /recomputed/));
  });

  it('a record removed from the middle', async () => {
    lines.splice(4, 1);
    const report = await verifyLines(lines);
    expect(report).toMatchObject({ ok: false, line: 5, seq: 6, records_checked: 4 });
    expect(report).toMatchObject({ problem: expect.stringMatching(/removed.*expected seq 5.*found seq 6/) });
  });

  it('the first record removed', async () => {
    lines.splice(0, 1);
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(1, 2, /removed/));
  });

  it('a forged record with a self-consistent hash inserted before the record it imitates', async () => {
    lines.splice(4, 0, forged(5, records[3]!.hash));
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(5, 5, /inserted/));
  });

  it('a forged record with a self-consistent hash inserted after the record it imitates', async () => {
    lines.splice(5, 0, forged(6, records[4]!.hash));
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(6, 6, /inserted/));
  });

  it('a forged record taking the next seq but not chaining from its predecessor', async () => {
    lines.splice(4, 0, forged(5, 'e'.repeat(64)));
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(5, 5, /^record inserted/));
  });

  it('a forged record with an unrelated seq and prev_hash', async () => {
    lines.splice(2, 0, forged(42, 'f'.repeat(64)));
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(3, 42, /inserted/));
  });

  it('a record copied in twice', async () => {
    lines.splice(3, 0, lines[2]!);
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(4, 3, /duplicates line 3/));
  });

  it('two adjacent records swapped', async () => {
    [lines[5], lines[6]] = [lines[6]!, lines[5]!];
    const report = await verifyLines(lines);
    expect(report).toMatchObject({ ok: false, line: 6, seq: 7, records_checked: 5 });
    expect(report).toMatchObject({ problem: expect.stringMatching(/reordered: seq 7 comes before seq 6/) });
  });

  it('two distant records swapped', async () => {
    [lines[2], lines[7]] = [lines[7]!, lines[2]!];
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(3, 8, /moved later/));
  });

  it('the file truncated in the middle of its last line', async () => {
    const { size } = await stat(file);
    await truncate(file, size - 20);
    const report = await verifyAuditLog(file);
    expect(report).toMatchObject({ ok: false, line: 10, seq: null, records_checked: 9 });
    expect(report).toMatchObject({ problem: expect.stringMatching(/truncated last line/) });
  });

  it('a record whose newline was cut off', async () => {
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, -1));
    const report = await verifyAuditLog(file);
    expect(report).toMatchObject(brokenAt(10, 10, /truncated/));
  });

  it('a line that is not JSON', async () => {
    lines[6] = lines[6]!.slice(0, 30);
    const report = await verifyLines(lines);
    expect(report).toMatchObject({
      ok: false,
      line: 7,
      seq: null,
      problem: expect.stringMatching(/^invalid JSON/),
    });
  });

  it('an empty line', async () => {
    lines.splice(2, 0, '');
    expect(await verifyLines(lines)).toMatchObject({
      ok: false,
      line: 3,
      seq: null,
      problem: 'empty line: not a record',
    });
  });

  it('a line longer than any record, and a line that is not UTF-8', async () => {
    const huge = 'x'.repeat(MAX_RECORD_BYTES + 10);
    expect(await verifyLines([lines[0]!, huge, ...lines.slice(1)])).toMatchObject({
      ok: false,
      line: 2,
      seq: null,
      problem: expect.stringMatching(/longer than/),
    });
    const text = Buffer.from(lines.map((line) => `${line}\n`).join(''));
    const at = text.indexOf('acme', text.indexOf('\n', text.indexOf('\n') + 1));
    text[at] = 0xff;
    await writeFile(file, text);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      line: 3,
      problem: 'line is not valid UTF-8',
    });
  });

  it('whitespace added to a line whose fields are unchanged', async () => {
    lines[1] = lines[1]!.replace('"tenant":', '"tenant": ');
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(2, 2, /canonical form/));
  });

  it('counts lines by newline only, so a stray carriage return does not shift line numbers', async () => {
    lines[2] = lines[2]!.replace('"tenant":"acme"', '"tenant":"ac\rme"');
    const report = await verifyLines(lines);
    expect(report).toMatchObject({ ok: false, line: 3, problem: expect.stringMatching(/^invalid JSON/) });
  });

  it('a record with its chain fields missing', async () => {
    lines[4] = editLine(lines[4]!, (r) => delete r.prev_hash, true);
    const report = await verifyLines(lines);
    expect(report).toMatchObject(brokenAt(5, 5, /prev_hash/));
  });
});

describe('what only an outside anchor can show', () => {
  it('a well-formed record appended at the end keeps the chain intact but changes last_hash', async () => {
    await appendFile(file, `${forged(11, records[9]!.hash)}\n`);
    const report = await verifyAuditLog(file);
    expect(report).toMatchObject({ ok: true, records: 11 });
    expect(report).not.toMatchObject({ last_hash: records[9]!.hash });
  });
});
