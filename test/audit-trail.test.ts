// The audit trail of a real run: every accepted, started, finished, canceled and rejected submission is in the
// hash-chained log; the verify command accepts it, and a hand-edited copy fails at the edited record.

import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { call, run, startService } from './support/service.ts';

const exec = promisify(execFile);
const VERIFY = join(import.meta.dirname, '..', 'shared', 'audit', 'src', 'verify-cli.ts');
const CANARY = 'canary-value-5b1e2f9d';

async function verify(path: string) {
  try {
    const { stdout } = await exec(process.execPath, [VERIFY, path]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('audit trail', () => {
  it('records the life of each execution and verifies; an edited copy fails at the right record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-audit-'));
    try {
      const svc = await startService({ AIRLOCK_MAX_MEMORY_MB: '256' });
      let okId: string;
      let canceledId: string;
      try {
        okId = (
          await run(svc.url, {
            language: 'javascript',
            code: 'console.log(airlock.env.TOKEN.length)',
            env: { TOKEN: CANARY },
          })
        ).id;
        const slow = await call(svc.url, 'POST', '/v1/executions', {
          language: 'javascript',
          code: 'for(;;){}',
        });
        canceledId = slow.body.id;
        await new Promise((r) => setTimeout(r, 200));
        await call(svc.url, 'DELETE', `/v1/executions/${canceledId}`);
        // A request that is well-formed but cannot be served here (a malformed one, such as limits above the
        // server ceiling, is refused by the schema before any decision is made, and is not a decision to audit).
        const refused = await call(svc.url, 'POST', '/v1/executions', {
          language: 'python',
          code: '1',
          backend: 'isolate',
        });
        expect(refused.status).toBe(422);
        await copyFile(svc.auditPath, join(dir, 'before-close.jsonl'));
      } finally {
        await svc.close();
      }
      const text = await readFile(join(dir, 'before-close.jsonl'), 'utf8');
      expect(text).not.toContain(CANARY);
      expect(svc.logs.join('')).not.toContain(CANARY);
      const records = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const ofOk = records.filter((r) => r.execution_id === okId).map((r) => r.type);
      expect(ofOk).toEqual(['accepted', 'started', 'finished']);
      const ofCanceled = records.filter((r) => r.execution_id === canceledId).map((r) => r.type);
      expect(ofCanceled).toEqual(expect.arrayContaining(['accepted', 'started', 'canceled', 'finished']));
      expect(records.find((r) => r.execution_id === canceledId && r.type === 'finished').outcome).toBe(
        'canceled',
      );
      const rejected = records.filter((r) => r.type === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0].reason).toContain('isolate');
      const accepted = records.find((r) => r.execution_id === okId && r.type === 'accepted');
      expect(accepted.code_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(accepted.detail.env_names).toEqual(['TOKEN']);
      expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));

      const good = join(dir, 'good.jsonl');
      await writeFile(good, text);
      const passed = await verify(good);
      expect(passed.code).toBe(0);
      expect(passed.out).toMatch(/^OK: \d+ records/);

      const lines = text.trim().split('\n');
      const target = 2;
      lines[target] = lines[target]!.replace('"tenant":"local"', '"tenant":"other"');
      expect(lines[target]).toContain('"tenant":"other"');
      const edited = join(dir, 'edited.jsonl');
      await writeFile(edited, `${lines.join('\n')}\n`);
      const failed = await verify(edited);
      expect(failed.code).toBe(1);
      expect(failed.out).toContain(`line ${target + 1}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
