// /mcp is guarded by the same Authorizer as REST: no token or a bad one → 401 with the same coded body, before
// any MCP message is read. A valid intent token is carried into every tool call (over /mcp and over stdio with
// AIRLOCK_TOKEN), so the tenant, the intent's narrowing and its execution budget apply exactly as on REST.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { callTool, connectHttp, connectStdio, textOf } from './support/mcp.ts';
import { call, startService, type TestService } from './support/service.ts';
import { tenantPolicy, tokenSettings } from './support/tokens.ts';

let svc: TestService;
let issuer: TestIssuer;
let stranger: TestIssuer;
let dir: string;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } },
};
const MCP_HEADERS = { accept: 'application/json, text/event-stream' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-mcp-authz-'));
  issuer = await createTestIssuer({ kid: 'broker-key-1' });
  stranger = await createTestIssuer({ kid: 'broker-key-1' });
  svc = await startService(
    await tokenSettings(dir, issuer, { acme: tenantPolicy(), globex: tenantPolicy() }),
  );
}, 120_000);
afterAll(async () => {
  await svc?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('POST /mcp refuses callers without a valid intent token', () => {
  it.each([
    ['no token', async () => ({}), /^missing token/],
    ['not a bearer credential', async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), /^malformed token/],
    ['garbage token', async () => ({ authorization: 'Bearer not.a.jwt' }), /^malformed token|^bad signature/],
    [
      'token signed by another key',
      async () => ({ authorization: `Bearer ${await stranger.mint()}` }),
      /^bad signature/,
    ],
  ])('%s → 401 with the coded body of REST', async (_name, headers, reason) => {
    const token = (await headers()) as Record<string, string>;
    const mcp = await call(svc.url, 'POST', '/mcp', INITIALIZE, { ...MCP_HEADERS, ...token });
    expect(mcp.status).toBe(401);
    expect(Object.keys(mcp.body)).toEqual(['error']);
    expect(mcp.body.error.code).toBe('unauthorized');
    expect(mcp.body.error.message).toMatch(reason);
    const rest = await call(svc.url, 'POST', '/v1/executions', { language: 'javascript', code: '1' }, token);
    expect(rest.status).toBe(401);
    expect(mcp.body).toEqual(rest.body);
  });

  it('GET and DELETE /mcp: 401 without a token, 405 with one (stateless endpoint)', async () => {
    expect((await call(svc.url, 'GET', '/mcp')).status).toBe(401);
    const token = await issuer.mint();
    for (const method of ['GET', 'DELETE']) {
      const response = await call(svc.url, method, '/mcp', undefined, { authorization: `Bearer ${token}` });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(response.body.error.code).toBe('method_not_allowed');
    }
  });

  it('the SDK client cannot connect without a token', async () => {
    await expect(connectHttp(svc.url)).rejects.toThrow(
      'Streamable HTTP error: Error POSTing to endpoint: {"error":{"code":"unauthorized","message":"missing token: no intent token was presented"}}',
    );
  });
});

describe('a valid token is the caller of every tool call', () => {
  it('over /mcp: runs as the token tenant, within its intent and its execution budget', async () => {
    const token = await issuer.mint({ jti: 'mcp-http-1', intent: { max_executions: 2 } });
    await using mcp = await connectHttp(svc.url, token);
    const first = await callTool(mcp.client, 'run_code', {
      language: 'javascript',
      code: 'console.log("one")',
    });
    expect(first.isError).toBeUndefined();
    expect(first.structuredContent).toMatchObject({ tenant: 'acme', result: { stdout: 'one\n' } });

    const python = await callTool(mcp.client, 'run_code', { language: 'python', code: 'print(1)' });
    expect(python.isError).toBe(true);
    // This server runs no python, so the tool's own schema (built from its runtimes) refuses it first.
    expect(textOf(python)).toMatch(/^Airlock error invalid_request \(field language\): /);

    const second = await callTool(mcp.client, 'run_code', {
      language: 'javascript',
      code: 'console.log("two")',
    });
    expect(second.structuredContent).toMatchObject({ tenant: 'acme', result: { stdout: 'two\n' } });
    const third = await callTool(mcp.client, 'run_code', { language: 'javascript', code: 'console.log(3)' });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/^Airlock error forbidden: token replayed: jti 'mcp-http-1'/);

    const audit = await readAuditRecords(svc.auditPath);
    const accepted = audit.filter((r) => r.type === 'accepted' && r.detail?.jti === 'mcp-http-1');
    expect(accepted.map((r) => r.execution_id).sort()).toEqual(
      [(first.structuredContent as any).id, (second.structuredContent as any).id].sort(),
    );
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(svc.logs.join('')).not.toContain(token);
  });

  it('tenants stay apart: an execution run over /mcp is not visible to another tenant', async () => {
    const token = await issuer.mint({ intent: { max_executions: 1 } });
    await using mcp = await connectHttp(svc.url, token);
    const run = await callTool(mcp.client, 'run_code', { language: 'javascript', code: 'console.log(1)' });
    const id = (run.structuredContent as { id: string }).id;
    const own = await call(svc.url, 'GET', `/v1/executions/${id}`, undefined, {
      authorization: `Bearer ${await issuer.mint()}`,
    });
    expect(own.status).toBe(200);
    const other = await call(svc.url, 'GET', `/v1/executions/${id}`, undefined, {
      authorization: `Bearer ${await issuer.mint({ tenant: 'globex' })}`,
    });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('execution_not_found');
  });

  it('over stdio: AIRLOCK_TOKEN is presented; a bad one comes back as a coded error result', async () => {
    const token = await issuer.mint({ intent: { max_executions: 1 } });
    await using good = await connectStdio(svc.url, token);
    const ok = await callTool(good.client, 'run_code', { language: 'javascript', code: 'console.log("ok")' });
    expect(ok.structuredContent).toMatchObject({ tenant: 'acme', result: { stdout: 'ok\n' } });
    expect(good.stderr()).not.toContain(token);

    await using bad = await connectStdio(svc.url, await stranger.mint());
    const refused = await callTool(bad.client, 'run_code', {
      language: 'javascript',
      code: 'console.log(1)',
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^Airlock error unauthorized: bad signature/);
    expect(refused._meta).toMatchObject({ 'airlock/error': { code: 'unauthorized', status: 401 } });
  });
});
