// Egress under intent tokens: a run's egress hosts and credentials are request ∩ intent ∩ tenant
// policy, like everything else — a request that asks for more is refused with 403 and audited, never clamped.
// Every refusal is decided at submission; the accepted run reaches the isolate with egress (the service starts
// the egress proxy, which needs dockerd and iptables).

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, TEST_TENANT, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit, startEgressService, writeCredential } from './support/egress.ts';
import { call, type TestService } from './support/service.ts';
import { tenantPolicy, tokenSettings } from './support/tokens.ts';

let svc: TestService;
let issuer: TestIssuer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-egress-authz-'));
  issuer = await createTestIssuer({ kid: 'k1' });
  const tokens = await tokenSettings(dir, issuer, {
    [TEST_TENANT]: tenantPolicy({
      languages: ['javascript', 'python'],
      backends: ['isolate', 'docker'],
      limits: {},
      egress_hosts: ['*.example.com', 'pypi.org'],
      // gitlab: allowed by the tenant policy, but the server has no binding for it
      credentials: ['github', 'gitlab'],
      max_concurrent: 4,
      max_queued: 4,
    }),
  });
  const credentialsFile = await writeCredential(dir, {
    name: 'github',
    hosts: ['files.example.com'],
    secret: 'gh',
    value: 'not-a-real-token',
  });
  ({ svc } = await startEgressService({
    AIRLOCK_EGRESS: 'on',
    AIRLOCK_EGRESS_CREDENTIALS_FILE: credentialsFile,
    AIRLOCK_SECRETS_DIR: dir,
    ...tokens,
  }));
});
afterAll(async () => {
  await svc?.close();
  await rm(dir, { recursive: true, force: true });
});

const submit = async (network: unknown, intent?: unknown) => {
  const token = await issuer.mint(intent === undefined ? {} : { intent });
  // Capability is decided before the backend is chosen; the isolate then runs the program with egress.
  return call(
    svc.url,
    'POST',
    '/v1/executions?wait=20',
    { language: 'javascript', backend: 'isolate', code: 'console.log(1)', network },
    { authorization: `Bearer ${token}` },
  );
};

describe('egress narrowing', () => {
  it.each([
    [
      'a host outside the tenant policy',
      { egress: 'proxy', allow: [{ host: 'evil.test' }] },
      undefined,
      "egress host 'evil.test' is not allowed by the tenant policy",
      'egress_hosts[0]',
    ],
    [
      'a host the intent does not grant',
      { egress: 'proxy', allow: [{ host: 'API.example.com.' }] },
      { egress_hosts: ['pypi.org'] },
      "egress host 'api.example.com' is not allowed by the intent token",
      'egress_hosts[0]',
    ],
    [
      'a credential the intent does not grant',
      { egress: 'proxy', allow: [{ host: 'pypi.org' }], credentials: ['github'] },
      { credentials: [] },
      'credential "github" is not allowed by the intent token',
      'credentials[0]',
    ],
    [
      'a credential the tenant does not have',
      { egress: 'proxy', allow: [{ host: 'pypi.org' }], credentials: ['aws'] },
      undefined,
      'credential "aws" is not allowed by the tenant policy',
      'credentials[0]',
    ],
  ])('refuses %s with 403 and audits it', async (_name, network, intent, message, field) => {
    const response = await submit(network, intent);
    expect(response.status).toBe(403);
    expect(response.body.error).toEqual({ code: 'forbidden', message, field });
    const audit = await readFile(svc.auditPath, 'utf8');
    expect(audit).toContain(JSON.stringify(message).slice(1, -1));
  });

  it('refuses with 422 a credential the server has no binding for, at submission, and audits it', async () => {
    const response = await submit({
      egress: 'proxy',
      allow: [{ host: 'files.example.com' }],
      credentials: ['github', 'gitlab'],
    });
    expect(response.status).toBe(422);
    expect(response.body.error).toEqual({
      code: 'egress_unavailable',
      message: "credential 'gitlab' has no binding on this server",
      field: 'network.credentials[1]',
    });
    const records = await readAudit(svc);
    expect(records.at(-1)).toMatchObject({
      type: 'rejected',
      reason: "credential 'gitlab' has no binding on this server",
      detail: { code: 'egress_unavailable', field: 'network.credentials[1]' },
    });
  });

  it('accepts what request, intent and tenant all allow, and records the capability', async () => {
    const response = await submit(
      { egress: 'proxy', allow: [{ host: 'files.example.com', ports: [443] }], credentials: ['github'] },
      { egress_hosts: ['*.example.com'], credentials: ['github'] },
    );
    expect(response.status).toBe(201);
    expect(response.body.result).toMatchObject({ outcome: 'success', stdout: '1\n', egress: [] });
    const records = await readAudit(svc);
    const accepted = records.find((r) => r.type === 'accepted' && r.execution_id === response.body.id);
    expect(accepted.detail.capability).toMatchObject({
      egress_hosts: ['files.example.com'],
      credentials: ['github'],
    });
  });
});
