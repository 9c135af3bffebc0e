// A crash mid-write can leave the audit log ending in a torn line. The service then refuses to start (exit 2)
// and names the exact command that repairs it; that command cuts the torn bytes, records a `repaired` record,
// and the service starts again on the same log.

import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileAuditLog, verifyAuditLog } from '@airlock/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/mcp.ts';
import { call, startService } from './support/service.ts';

const exec = promisify(execFile);
const MAIN = join(REPO_ROOT, 'services', 'gateway', 'src', 'main.ts');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-torn-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', AIRLOCK_PORT: '0', AIRLOCK_BACKENDS: 'isolate', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('a torn audit log at start-up', () => {
  it('stops the service with the repair command, which fixes the log so the service starts', async () => {
    const auditPath = join(dir, 'audit.jsonl');
    const log = await FileAuditLog.open(auditPath);
    await log.append({ type: 'rejected', execution_id: null, tenant: 'local', reason: 'before the crash' });
    await log.close();
    await appendFile(auditPath, '{"detail":{"code":"forb');

    const { code, output } = await runMain({ AIRLOCK_AUDIT_LOG: auditPath });
    expect(code).toBe(2);
    const command = `npm run audit:verify -- --repair ${auditPath}`;
    expect(output).toContain('"level":60');
    expect(output).toContain(
      `incomplete last line (23 bytes without a trailing newline: a write was cut off); refusing to append. ` +
        `Cut it off (a \\"repaired\\" record says what was cut) with: ${command}`,
    );

    const env = {
      ...process.env,
      PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    };
    const repaired = await exec('sh', ['-c', command], { cwd: REPO_ROOT, env });
    expect(repaired.stdout).toMatch(
      /REPAIRED: cut 23 bytes of a torn last line \(line 2, sha256 [0-9a-f]{64}\)/,
    );
    expect(await verifyAuditLog(auditPath)).toMatchObject({ ok: true, records: 2 });

    await using svc = await startService({ AIRLOCK_AUDIT_LOG: auditPath });
    const ok = await call(svc.url, 'POST', '/v1/executions?wait=20', { language: 'javascript', code: '1' });
    expect(ok.status).toBe(201);
  }, 120_000);
});
