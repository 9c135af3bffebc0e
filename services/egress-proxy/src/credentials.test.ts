// Credential injection (design (a): plain HTTP to the proxy, TLS with verification to the upstream) and
// scrubbing, against a loopback TLS upstream whose certificate comes from a CA made for this test.
// SECURITY.md classes 6 and 7 at the proxy.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from './egress-proxy.ts';
import type { RunAccess } from './egress-runs.ts';
import { TableResolver } from './resolver.ts';
import { EnvSecretsProvider, envSecretName, FileSecretsProvider } from './secrets.ts';
import {
  API_BINDING,
  basic,
  closedWithOneRecord,
  connectVia,
  credentialOptions,
  makeTestPki,
  startHttpUpstream,
  startTlsUpstream,
  type TestPki,
  type Upstream,
  viaProxy,
} from './test-upstreams.ts';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-Zq+/=`;
const OTHER = `other-${Math.random().toString(36).slice(2)}`;

let pki: TestPki;
let tls: Upstream;
let plain: Upstream;
let proxy: EgressProxy;
let secretsDir: string;

beforeAll(async () => {
  pki = await makeTestPki(['api.bound.test', 'b.bound.test', 'unbound.test']);
  tls = await startTlsUpstream(pki);
  plain = await startHttpUpstream('127.0.0.1');
  secretsDir = await mkdtemp(join(tmpdir(), 'airlock-secrets-'));
  await writeFile(join(secretsDir, 'api-token'), `${CANARY}\n`, { mode: 0o600 });
  await writeFile(join(secretsDir, 'other'), OTHER, { mode: 0o600 });
  proxy = await startProxy();
});

afterAll(async () => {
  await proxy?.close();
  await tls?.close();
  await plain?.close();
  await pki?.close();
  if (secretsDir) await rm(secretsDir, { recursive: true, force: true });
});

/** The proxy under test: both upstreams allowed; bindings `api` (Bearer, from a file) and `other` (X-Api-Key). */
function startProxy(): Promise<EgressProxy> {
  return EgressProxy.start({
    host: '127.0.0.1',
    port: 0,
    resolver: new TableResolver({
      'api.bound.test': ['127.0.0.1'],
      'b.bound.test': ['127.0.0.1'],
      'unbound.test': ['127.0.0.1'],
    }),
    allowances: [
      { address: '127.0.0.1', port: tls.port },
      { address: '127.0.0.1', port: plain.port },
    ],
    server: { ports: [tls.port, plain.port] },
    ...credentialOptions(pki, secretsDir, {
      api: API_BINDING,
      other: { hosts: ['b.bound.test'], header: 'X-Api-Key' },
    }),
  });
}

/** A proxy with the TLS upstream only and the one binding `api` for api.bound.test. */
function startApiProxy(api: Record<string, unknown>): Promise<EgressProxy> {
  return EgressProxy.start({
    host: '127.0.0.1',
    port: 0,
    resolver: new TableResolver({ 'api.bound.test': ['127.0.0.1'] }),
    allowances: [{ address: '127.0.0.1', port: tls.port }],
    server: { ports: [tls.port] },
    ...credentialOptions(pki, secretsDir, { api }),
  });
}

/** Opens run `id` with credential `api` and egress to api.bound.test on the TLS upstream only. */
function openApiRun(id: string): RunAccess {
  return proxy.openRun({
    executionId: id,
    network: {
      egress: 'proxy',
      allow: [{ host: 'api.bound.test', ports: [tls.port] }],
      credentials: ['api'],
    },
    ttlMs: 60_000,
  });
}

function open(id: string, credentials: string[], hosts = ['*.bound.test', 'unbound.test']): RunAccess {
  return proxy.openRun({
    executionId: id,
    network: {
      egress: 'proxy',
      allow: hosts.map((host) => ({ host, ports: [tls.port, plain.port] })),
      credentials,
    },
    ttlMs: 60_000,
  });
}

describe('credential injection', () => {
  it('gives the run only sentinels, and sends the value upstream over verified TLS in the bound header', async () => {
    const access = open('ex_c1', ['api']);
    const sentinel = access.sentinels.api as string;
    expect(sentinel).toMatch(/^airlock-sentinel-[A-Za-z0-9_-]{24}$/);
    expect(JSON.stringify(access)).not.toContain(CANARY);
    const before = tls.requests.length;
    const answer = await viaProxy(proxy.address.port, `http://api.bound.test:${tls.port}/whoami`, {
      auth: basic(access.username, access.password),
      headers: { authorization: `Bearer ${sentinel}` },
    });
    expect(answer.status).toBe(200);
    // The upstream (TLS) received the real value in the configured header.
    expect(tls.requests[before]?.headers.authorization).toBe(`Bearer ${CANARY}`);
    // The echo of the header came back scrubbed: in the body and in a response header.
    expect(answer.body).not.toContain(CANARY);
    expect(answer.body).toContain(`"authorization":"Bearer ${'*'.repeat(CANARY.length)}"`);
    expect(answer.headers['x-echo-authorization']).toBe(`Bearer ${'*'.repeat(CANARY.length)}`);
    const records = closedWithOneRecord(proxy, 'ex_c1', {
      scheme: 'https',
      host: 'api.bound.test',
      path: '/whoami',
      decision: 'allowed',
      status: 200,
      credential: 'api',
    });
    expect(JSON.stringify(records)).not.toContain(CANARY);
  });

  it('scrubs base64 and URL-encoded echoes of the value from the body', async () => {
    await tls.close();
    tls = await startTlsUpstream(pki, '127.0.0.1', (req) => {
      const value = String(req.headers.authorization ?? '').replace('Bearer ', '');
      return {
        body: [
          Buffer.from(value).toString('base64'),
          Buffer.from(`x${value}`).toString('base64'),
          encodeURIComponent(value),
        ].join('\n'),
      };
    });
    await proxy.close();
    proxy = await startApiProxy({
      hosts: ['api.bound.test'],
      header: 'Authorization',
      format: 'Bearer {value}',
      secret: 'api-token',
    });
    const access = openApiRun('ex_c2');
    const answer = await viaProxy(proxy.address.port, `http://api.bound.test:${tls.port}/`, {
      auth: basic(access.username, access.password),
      headers: { authorization: `Bearer ${access.sentinels.api}` },
    });
    expect(answer.status).toBe(200);
    const lines = answer.body.split('\n');
    expect(lines).toHaveLength(3);
    expect(Buffer.from(lines[0] as string, 'base64').toString('latin1')).not.toContain(CANARY);
    expect(Buffer.from(lines[1] as string, 'base64').toString('latin1')).not.toContain(CANARY.slice(2, -2));
    expect(lines[2]).not.toContain(encodeURIComponent(CANARY));
    expect(answer.body).not.toContain(CANARY);
    proxy.closeRun('ex_c2');
  });

  it('refuses a response in a content coding it cannot read', async () => {
    await tls.close();
    tls = await startTlsUpstream(pki, '127.0.0.1', () => ({
      headers: { 'content-encoding': 'compress' },
      body: 'not readable',
    }));
    await proxy.close();
    proxy = await startApiProxy({ hosts: ['api.bound.test'], header: 'Authorization', secret: 'api-token' });
    const access = openApiRun('ex_c3');
    const answer = await viaProxy(proxy.address.port, `http://api.bound.test:${tls.port}/`, {
      auth: basic(access.username, access.password),
    });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).error.code).toBe('egress_upstream_failed');
    expect(proxy.closeRun('ex_c3').records[0]?.reason).toBe(
      "content coding 'compress' cannot be scrubbed of the credential",
    );
  });
});

describe('class 7: sentinels outside their binding', () => {
  it('never substitutes a sentinel for a host without that binding, or another binding’s sentinel', async () => {
    await tls.close();
    tls = await startTlsUpstream(pki);
    await proxy.close();
    proxy = await startProxy();
    const access = open('ex_s7', ['api', 'other']);
    const auth = basic(access.username, access.password);
    const apiSentinel = access.sentinels.api as string;
    // A's sentinel to an unbound host (plain HTTP upstream): passed through untouched.
    const unbound = await viaProxy(proxy.address.port, `http://unbound.test:${plain.port}/`, {
      auth,
      headers: { authorization: `Bearer ${apiSentinel}` },
    });
    expect(JSON.parse(unbound.body).headers.authorization).toBe(`Bearer ${apiSentinel}`);
    // A's sentinel to B's host, in A's header and in B's header: not substituted.
    const cross = await viaProxy(proxy.address.port, `http://b.bound.test:${tls.port}/`, {
      auth,
      headers: { authorization: `Bearer ${apiSentinel}`, 'x-api-key': apiSentinel },
    });
    const seen = tls.requests.at(-1)?.headers;
    expect(seen?.authorization).toBe(`Bearer ${apiSentinel}`);
    expect(seen?.['x-api-key']).toBe(apiSentinel);
    expect(cross.status).toBe(200);
    // A's sentinel to A's host but in another header: not substituted.
    await viaProxy(proxy.address.port, `http://api.bound.test:${tls.port}/`, {
      auth,
      headers: { 'x-other': apiSentinel },
    });
    expect(tls.requests.at(-1)?.headers['x-other']).toBe(apiSentinel);
    expect(tls.requests.at(-1)?.headers.authorization).toBeUndefined();
    // A tunnel to a bound host is refused (the proxy could not scrub inside it).
    const tunnel = await connectVia(proxy.address.port, `api.bound.test:${tls.port}`, auth);
    expect(tunnel.status).toBe(403);
    expect(JSON.stringify(tls.requests)).not.toContain(OTHER);
    const records = proxy.closeRun('ex_s7').records;
    expect(records.map((r) => [r.host, r.scheme, r.credential])).toEqual([
      ['unbound.test', 'http', null],
      ['b.bound.test', 'https', null],
      ['api.bound.test', 'https', null],
      ['api.bound.test', 'tunnel', null],
    ]);
  });

  it('refuses to open a run that asks for a credential the server has no binding for', () => {
    expect(() => open('ex_nb', ['nope'])).toThrow(/credential 'nope' has no binding/);
  });
});

describe('secrets providers', () => {
  it('reads one file per secret, and refuses names that could leave the directory', async () => {
    const files = new FileSecretsProvider(secretsDir);
    expect(await files.resolve('api-token')).toBe(CANARY);
    await expect(files.resolve('../api-token')).rejects.toThrow("secret '../api-token' is not available");
    await expect(files.resolve('missing')).rejects.toThrow("secret 'missing' is not available");
  });

  it('reads AIRLOCK_SECRET_<NAME> from the map it was given, and never puts a value in an error', async () => {
    const env = new EnvSecretsProvider({ [envSecretName('api.token-1')]: CANARY });
    expect(envSecretName('api.token-1')).toBe('AIRLOCK_SECRET_API_TOKEN_1');
    expect(await env.resolve('api.token-1')).toBe(CANARY);
    const error = await env.resolve('absent').catch((e: Error) => e.message);
    expect(error).toBe("secret 'absent' is not available");
  });
});
