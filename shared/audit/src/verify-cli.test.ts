import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { editLine, makeTempDir, readLines, writeLines, writeSampleLog } from './log-fixture.ts';
import type { AuditRecord } from './record.ts';

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
    for (const args of [[], [file, file], ['--help']]) {
      const result = await run([CLI, ...args]);
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^usage: npm run audit:verify -- FILE/);
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
