// `airlock audit verify FILE` on the audit log a real service wrote: intact (exit 0), edited (exit 1, naming the
// first bad line), unreadable (exit 2), and the same report as JSON.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlock } from './support/cli.ts';
import { startService } from './support/service.ts';

let dir: string;
let log: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-audit-'));
  log = join(dir, 'audit.jsonl');
  await using svc = await startService({ AIRLOCK_AUDIT_LOG: log });
  const run = await airlock(['exec', 'console.log(1)', '--lang', 'javascript'], {
    env: { AIRLOCK_URL: svc.url },
  });
  expect(run).toMatchObject({ code: 0, stdout: '1\n' });
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('airlock audit verify', { timeout: 120_000 }, () => {
  it('accepts the intact chain and reports it as text and as JSON', async () => {
    const lines = (await readFile(log, 'utf8')).trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!);
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(['accepted', 'started', 'finished']);
    expect(await airlock(['audit', 'verify', log])).toEqual({
      code: 0,
      signal: null,
      stdout: `OK: 3 records, chain intact, last hash ${last.hash}\n`,
      stderr: '',
    });
    const json = await airlock(['audit', 'verify', log, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, records: 3, last_hash: last.hash });
  });

  it('names the first edited record (exit 1), and exits 2 for a file it cannot read', async () => {
    const edited = join(dir, 'edited.jsonl');
    const text = await readFile(log, 'utf8');
    await writeFile(edited, text.replace('"type":"started"', '"type":"canceled"'));
    const run = await airlock(['audit', 'verify', edited]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAILED at line 2 \(seq 2\): /);
    const json = await airlock(['audit', 'verify', edited, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, line: 2, seq: 2, records_checked: 1 });

    const missing = await airlock(['audit', 'verify', join(dir, 'none.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`airlock: cannot read ${join(dir, 'none.jsonl')}: ENOENT`);
    const usage = await airlock(['audit', 'check', log]);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toBe(
      "airlock: unknown action 'audit check' (airlock audit --help shows the usage)\n",
    );
  });
});
