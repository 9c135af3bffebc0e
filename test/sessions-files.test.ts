// The session files API on both container backends, with intent tokens: a binary file round trip (PUT raw
// bytes, GET them back with their sha256, a cell reads them), folder listings with size and mtime, a cell's
// out/ files in its result, traversal refused by the path rule, links never followed (read, written or
// listed), the size bound, DELETE, another tenant's session 404, and every use audited by path and hash.
// Real dockerd, real runsc, real HTTP.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { readAuditRecords } from './support/audit.ts';
import { BACKENDS, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';
import { bearer, tenantPolicy, tokenSettings } from './support/tokens.ts';

const MAX_FILE_BYTES = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'airlock-session-files-'));
const issuer: TestIssuer = await createTestIssuer({ kid: 'files-key' });
const pythonSessions = tenantPolicy({
  languages: ['python'],
  backends: [...BACKENDS],
  limits: { memory_mb: 256, wall_time_ms: 60_000 },
  sessions: true,
});
const tokens = await tokenSettings(dir, issuer, { acme: pythonSessions, globex: pythonSessions });
const service = useSessionService({
  ...tokens,
  AIRLOCK_SESSION_FILE_BYTES: String(MAX_FILE_BYTES),
  AIRLOCK_TOKEN_MAX_EXECUTIONS: '1000',
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const as = async (tenant = 'acme') => bearer(await issuer.mint({ tenant }));
const url = (path: string) => `${service().url}${path}`;
/** Lists a session's files as tenant acme, at `query` (e.g. `?path=data`; none: the session's root). */
const listFiles = async (session: string, query = '') =>
  call(service().url, 'GET', `/v1/sessions/${session}/files${query}`, undefined, await as());
const sha256 = (content: Uint8Array) => createHash('sha256').update(content).digest('hex');

async function open(backend: string): Promise<string> {
  const response = await call(
    service().url,
    'POST',
    '/v1/sessions',
    { language: 'python', backend },
    await as(),
  );
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

async function cell(id: string, code: string): Promise<any> {
  const response = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code }, await as());
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.result;
}

async function put(id: string, path: string, body: Uint8Array, tenant = 'acme'): Promise<Response> {
  return fetch(url(`/v1/sessions/${id}/files/${path}`), {
    method: 'PUT',
    headers: { ...(await as(tenant)), 'content-type': 'application/octet-stream' },
    body,
  });
}

async function get(id: string, path: string, tenant = 'acme'): Promise<Response> {
  return fetch(url(`/v1/sessions/${id}/files/${path}`), { headers: await as(tenant) });
}

/** A request whose path goes out exactly as written (fetch would resolve `..` and `%2e%2e` segments first). */
async function raw(method: string, path: string): Promise<{ status: number; body: any }> {
  const headers = await as();
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(service().url);
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    req.end(method === 'PUT' ? 'x' : undefined);
  });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as any).error.code;
}

describe.each(BACKENDS)('session files on %s', (backend) => {
  it('round-trips binary content, lists folders, and returns a cell’s out/ files', async () => {
    const session = await open(backend);
    const content = Buffer.concat([Buffer.from([0, 255, 0, 10, 13]), randomBytes(70_000)]);
    const stored = await put(session, 'data/blob.bin', content);
    expect(stored.status).toBe(201);
    expect(await stored.json()).toEqual({
      path: 'data/blob.bin',
      size: content.length,
      sha256: sha256(content),
    });

    const back = await get(session, 'data/blob.bin');
    expect(back.status).toBe(200);
    expect(back.headers.get('x-content-sha256')).toBe(sha256(content));
    expect(Buffer.from(await back.arrayBuffer()).equals(content)).toBe(true);
    const seen = await cell(
      session,
      'import hashlib\nhashlib.sha256(open("data/blob.bin", "rb").read()).hexdigest()',
    );
    expect(seen.value).toEqual({ 'text/plain': `'${sha256(content)}'` });

    const listing = await listFiles(session, '?path=data');
    expect(listing.status).toBe(200);
    expect(listing.body).toMatchObject({ path: 'data', truncated: false });
    expect(listing.body.entries).toEqual([
      { name: 'blob.bin', type: 'file', size: content.length, mtime: expect.any(String) },
    ]);
    expect(Math.abs(Date.parse(listing.body.entries[0].mtime) - Date.now())).toBeLessThan(10 * 60_000);
    const root = await listFiles(session);
    expect(root.body.path).toBe('.');
    expect(root.body.entries).toContainEqual(expect.objectContaining({ name: 'data', type: 'directory' }));

    const wrote = await cell(
      session,
      'import os\nos.makedirs("out/sub", exist_ok=True)\nopen("out/sub/r.txt", "w").write("made")',
    );
    expect(wrote.files).toEqual([
      { path: 'sub/r.txt', size: 4, encoding: 'base64', content: Buffer.from('made').toString('base64') },
    ]);
    const quiet = await cell(session, '1 + 1');
    expect(quiet.files).toBeUndefined();

    const deleted = await fetch(url(`/v1/sessions/${session}/files/data/blob.bin`), {
      method: 'DELETE',
      headers: await as(),
    });
    expect(deleted.status).toBe(200);
    expect(await errorCode(await get(session, 'data/blob.bin'))).toBe('file_not_found');
    expect((await get(session, 'data/blob.bin')).status).toBe(404);

    const records = (await readAuditRecords(service().auditPath)).filter(
      (r) => r.type === 'file' && r.execution_id === session,
    );
    expect(records.map((r) => [r.detail.op, r.detail.path])).toEqual([
      ['put', 'data/blob.bin'],
      ['get', 'data/blob.bin'],
      ['list', 'data'],
      ['list', '.'],
      ['delete', 'data/blob.bin'],
    ]);
    expect(records[0]).toMatchObject({
      tenant: 'acme',
      detail: { size: content.length, sha256: sha256(content) },
    });
    expect(JSON.stringify(records)).not.toContain(content.subarray(5, 40).toString('base64'));
    expect(
      (await call(service().url, 'DELETE', `/v1/sessions/${session}`, undefined, await as())).status,
    ).toBe(200);
  });

  it('refuses traversal, never follows links, bounds sizes, and hides the session from other tenants', async () => {
    const session = await open(backend);
    const traversals = [
      '../etc/passwd',
      '%2e%2e/etc/passwd',
      'a/../../etc/passwd',
      '%2Fetc%2Fpasswd',
      'a//b',
    ];
    for (const path of [...traversals, 'sp%20ace']) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const response = await raw(method, `/v1/sessions/${session}/files/${path}`);
        expect(response.status, `${method} ${path}`).toBe(400);
        expect(response.body).toMatchObject({ error: { code: 'invalid_request', field: 'path' } });
      }
    }
    const listed = await listFiles(session, '?path=..');
    expect(listed.status).toBe(400);

    await cell(
      session,
      'import os\nos.symlink("/etc/passwd", "link")\nos.symlink("/etc", "dirlink")\nos.mkfifo("fifo")',
    );
    for (const path of ['link', 'dirlink/passwd', 'fifo']) {
      const read = await get(session, path);
      expect(read.status, path).toBe(422);
      expect(await errorCode(read)).toBe('file_not_regular');
      const write = await put(session, path, Buffer.from('overwritten'));
      expect(write.status, path).toBe(422);
    }
    const put2 = await put(session, 'dirlink/new.txt', Buffer.from('x'));
    expect(put2.status).toBe(422);
    const listing = await listFiles(session);
    expect(listing.body.entries).toContainEqual(expect.objectContaining({ name: 'link', type: 'symlink' }));
    expect(listing.body.entries).toContainEqual(expect.objectContaining({ name: 'fifo', type: 'other' }));
    const linkList = await listFiles(session, '?path=dirlink');
    expect(linkList.status).toBe(422);
    const unlinked = await fetch(url(`/v1/sessions/${session}/files/link`), {
      method: 'DELETE',
      headers: await as(),
    });
    expect(unlinked.status).toBe(200);
    const after = await cell(session, 'import os\n(os.path.lexists("link"), os.path.exists("/etc/passwd"))');
    expect(after.value).toEqual({ 'text/plain': '(False, True)' });

    const big = await put(session, 'big.bin', Buffer.alloc(MAX_FILE_BYTES + 1));
    expect(big.status).toBe(413);
    await cell(session, `open("large.bin", "wb").write(b"x" * ${MAX_FILE_BYTES + 1})`);
    expect(await errorCode(await get(session, 'large.bin'))).toBe('payload_too_large');
    expect((await put(session, 'ok.bin', Buffer.alloc(MAX_FILE_BYTES))).status).toBe(201);

    expect((await get(session, 'ok.bin', 'globex')).status).toBe(404);
    expect(await errorCode(await put(session, 'x.txt', Buffer.from('x'), 'globex'))).toBe('not_found');
    const foreignList = await call(
      service().url,
      'GET',
      `/v1/sessions/${session}/files`,
      undefined,
      await as('globex'),
    );
    expect(foreignList.status).toBe(404);
    expect(
      (await call(service().url, 'DELETE', `/v1/sessions/${session}`, undefined, await as())).status,
    ).toBe(200);
    expect(await errorCode(await get(session, 'ok.bin'))).toBe('session_closed');
  });
});
