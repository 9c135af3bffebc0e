// The service as an operator starts it: `node services/gateway/src/main.ts`, configured by AIRLOCK_* variables.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer } from '@airlock/auth/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startServiceChild, stopAll } from './support/service-child.ts';
import { tokenSettings } from './support/tokens.ts';

afterEach(stopAll);

describe('service process', () => {
  it('starts, serves, says it is in development mode, and exits 0 on SIGTERM with a verifiable audit log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-main-'));
    try {
      const audit = join(dir, 'audit.jsonl');
      const svc = startServiceChild({
        AIRLOCK_PORT: '0',
        AIRLOCK_AUDIT_LOG: audit,
        AIRLOCK_BACKENDS: 'isolate',
      });
      const url = await svc.listening();
      expect(svc.output()).toContain('LOCAL DEVELOPMENT MODE');
      const response = await fetch(`${url}/v1/executions?wait=20`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'javascript', code: 'console.log("up")' }),
      });
      expect(((await response.json()) as any).result.stdout).toBe('up\n');
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
      const records = (await readFile(audit, 'utf8')).trim().split('\n');
      expect(records.map((r) => JSON.parse(r).type)).toEqual(['accepted', 'started', 'finished']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to bind a non-loopback address without authorization', async () => {
    const svc = startServiceChild({ AIRLOCK_HOST: '0.0.0.0', AIRLOCK_PORT: '0' });
    expect(await svc.exited).toBe(2);
    expect(svc.output()).toContain('refusing to bind a non-loopback address');
  });

  it('requires intent tokens once keys are configured, and says so instead of development mode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-main-'));
    try {
      const issuer = await createTestIssuer();
      const tokens = await tokenSettings(dir, issuer, {
        acme: {
          languages: ['javascript'],
          backends: ['isolate'],
          max_concurrent: 1,
          max_queued: 1,
          submissions_per_minute: 60,
        },
      });
      const svc = startServiceChild({
        AIRLOCK_PORT: '0',
        AIRLOCK_BACKENDS: 'isolate',
        AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
        ...tokens,
      });
      const url = await svc.listening();
      expect(svc.output()).toContain('intent tokens required');
      expect(svc.output()).not.toContain('LOCAL DEVELOPMENT MODE');
      const refused = await fetch(`${url}/v1/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ language: 'javascript', code: '1' }),
      });
      expect(refused.status).toBe(401);
      const accepted = await fetch(`${url}/v1/executions?wait=20`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.mint()}` },
        body: JSON.stringify({ language: 'javascript', code: 'console.log("ok")' }),
      });
      expect(accepted.status).toBe(201);
      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 naming a bad variable', async () => {
    const svc = startServiceChild({ AIRLOCK_PORT: 'eighty' });
    expect(await svc.exited).toBe(2);
    expect(svc.output()).toContain('AIRLOCK_PORT="eighty"');
  });
});
