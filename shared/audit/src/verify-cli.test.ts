import { execFile } from 'node:child_process';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { editLine, makeTempDir, readLines, writeLines, writeSampleLog } from './log-fixture.ts';
import { type AuditRecord, sha256Hex } from './record.ts';
import { verifyAuditLog } from './verify.ts';

const exec = promisify(execFile);
const NODE = join(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'node');
const CLI = join(import.meta.dirname, 'verify-cli.ts');

async function run(args: string[], options: { cwd?: string } = {}) {
  try {
    const { stdout, stderr } = await exec(NODE, args, options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let dir: { path: string; remove: () => Promise<void> };
let file: string;
let records: AuditRecord[];

beforeEach(async () => {
  dir = await makeTempDir();
  file = join(dir.path, 'audit.jsonl');
  records = await writeSampleLog(file, 8);
});

afterEach(async () => {
  await dir.remove();
});

describe('audit:verify CLI', () => {
  it('prints OK with the count and last hash and exits 0 for an intact log', async () => {
    expect(await run([CLI, file])).toEqual({
      code: 0,
      stdout: `OK: 8 records, chain intact, last hash ${records[7]!.hash}\n`,
      stderr: '',
    });
  });

  it('prints the first bad line and seq and exits 1 for a tampered log', async () => {
    const lines = await readLines(file);
    lines[2] = editLine(lines[2]!, (r) => Object.assign(r, { tenant: 'other' }), false);
    await writeLines(file, lines);
    const result = await run([CLI, file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED at line 3 \(seq 3\): record content was edited: .+\n$/);
  });

  it('says seq unknown when the bad line has no readable seq', async () => {
    const lines = await readLines(file);
    lines[4] = '{oops';
    await writeLines(file, lines);
    const result = await run([CLI, file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED at line 5 \(seq unknown\): invalid JSON/);
  });

  it('exits 2 with usage on stderr for missing or extra arguments', async () => {
    for (const args of [[], [file, file], ['--help'], ['--repair'], ['--repair', file, file]]) {
      const result = await run([CLI, ...args]);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^usage: npm run audit:verify -- \[--repair\] FILE/);
    }
  });

  it('exits 2 when the file cannot be read', async () => {
    const result = await run([CLI, join(dir.path, 'missing.jsonl')]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^cannot read .*missing\.jsonl: ENOENT/);
  });

  it('runs as `npm run audit:verify -- FILE` from the repository root', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
    const { stdout } = await exec('npm', ['run', '--silent', 'audit:verify', '--', file], { cwd: root, env });
    expect(stdout).toBe(`OK: 8 records, chain intact, last hash ${records[7]!.hash}\n`);
  });

  it('does nothing when imported as a module', async () => {
    const importer = `await import(${JSON.stringify(CLI)}); console.log('imported');`;
    expect(await run(['--input-type=module', '-e', importer, file])).toEqual({
      code: 0,
      stdout: 'imported\n',
      stderr: '',
    });
  });
});

describe('audit:verify --repair', () => {
  it('cuts a torn last line, appends a repaired record saying what was cut, and the log verifies', async () => {
    const torn = '{"execution_id":"exe_9","hash":"ab';
    await appendFile(file, torn);
    expect((await run([CLI, file])).stdout).toMatch(/^FAILED at line 9 \(seq unknown\): truncated last line/);
    const cutSha = sha256Hex(torn);
    const result = await run([CLI, '--repair', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = await readLines(file);
    expect(lines).toHaveLength(9);
    const repaired = JSON.parse(lines[8]!) as AuditRecord;
    expect(repaired).toMatchObject({
      type: 'repaired',
      seq: 9,
      prev_hash: records[7]!.hash,
      execution_id: null,
      detail: { line: 9, cut_bytes: torn.length, cut_sha256: cutSha },
    });
    expect(lines.join('\n')).not.toContain('exe_9');
    expect(result.stdout).toBe(
      `REPAIRED: cut ${torn.length} bytes of a torn last line (line 9, sha256 ${cutSha}); appended record seq 9 ` +
        `(type repaired)\nOK: 9 records, chain intact, last hash ${repaired.hash}\n`,
    );
    expect(await verifyAuditLog(file)).toEqual({ ok: true, records: 9, last_hash: repaired.hash });
  });

  it('cuts a torn line that is not valid UTF-8 (a write cut inside a character)', async () => {
    await appendFile(file, Buffer.from([0x7b, 0x22, 0xe2, 0x82]));
    const result = await run([CLI, '--repair', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^REPAIRED: cut 4 bytes/);
  });

  it('changes nothing in an intact log', async () => {
    const before = await readFile(file);
    const result = await run([CLI, '--repair', file]);
    expect(result).toEqual({
      code: 0,
      stdout: `nothing to repair: the log ends with a complete record\nOK: 8 records, chain intact, last hash ${records[7]!.hash}\n`,
      stderr: '',
    });
    expect(await readFile(file)).toEqual(before);
  });

  it('refuses damage other than a torn last line, changing nothing', async () => {
    const lines = await readLines(file);
    lines[2] = editLine(lines[2]!, (r) => Object.assign(r, { tenant: 'other' }), false);
    await writeLines(file, lines);
    await appendFile(file, '{"torn');
    const size = (await stat(file)).size;
    const result = await run([CLI, '--repair', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^FAILED at line 3 \(seq 3\): record content was edited: .+; --repair only cuts a torn last line, and this damage is elsewhere: keep the file as evidence\n$/,
    );
    expect((await stat(file)).size).toBe(size);
  });

  it('refuses a log whose lock is held by a live process', async () => {
    await appendFile(file, '{"torn');
    await writeFile(`${file}.lock`, `${process.pid === 1 ? 2 : 1}\n`);
    const result = await run([CLI, '--repair', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/is in use by process 1|is in use by process 2/);
  });

  it('is the command the writer names when it refuses a torn log at start-up', async () => {
    await appendFile(file, '{"torn');
    const { FileAuditLog } = await import('./file-audit-log.ts');
    const refused = (await FileAuditLog.open(file).catch((error: unknown) => error)) as Error;
    const command = /with: (npm run audit:verify -- --repair \S+)$/.exec(refused.message)?.[1];
    expect(command).toBe(`npm run audit:verify -- --repair ${file}`);
    const root = join(import.meta.dirname, '..', '..', '..');
    const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
    const { stdout } = await exec('sh', ['-c', `${command}`], { cwd: root, env });
    expect(stdout).toMatch(/\nREPAIRED: cut 6 bytes of a torn last line \(line 9, /);
    const reopened = await FileAuditLog.open(file);
    await reopened.close();
  });
});
