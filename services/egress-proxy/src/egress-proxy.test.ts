// The proxy against real loopback upstreams (SECURITY.md classes 1, 2, 5, 8 and 24 at the proxy). Upstreams
// are reached only through explicit allowances; names resolve through a TableResolver, never real DNS.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressProxy, type EgressProxyOptions } from './egress-proxy.ts';
import type { RunAccess } from './egress-runs.ts';
import { TableResolver } from './resolver.ts';
import {
  basic,
  closedWithOneRecord,
  connectVia,
  getOverTunnel,
  makeTestPki,
  rawExchange,
  startHttpUpstream,
  startTlsUpstream,
  type Upstream,
  viaProxy,
} from './test-upstreams.ts';

let upstream: Upstream;
let decoy: Upstream;
let proxy: EgressProxy;
let resolver: TableResolver;

async function startProxy(extra: Partial<EgressProxyOptions> = {}): Promise<EgressProxy> {
  return EgressProxy.start({
    host: '127.0.0.1',
    port: 0,
    resolver,
    allowances: [{ address: '127.0.0.1', port: upstream.port }],
    server: { ports: [80, 443, upstream.port] },
    ...extra,
  });
}

function open(
  executionId: string,
  allow: Array<{ host: string; ports?: number[]; methods?: string[] }>,
): RunAccess {
  return proxy.openRun({ executionId, network: { egress: 'proxy', allow, credentials: [] }, ttlMs: 60_000 });
}

const authOf = (a: RunAccess) => basic(a.username, a.password);

beforeEach(async () => {
  upstream = await startHttpUpstream('127.0.0.1');
  // Same port on another loopback address: where a second (rebinding) answer would lead.
  decoy = await startHttpUpstream('127.0.0.2');
  resolver = new TableResolver({
    'api.test': ['127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'mixed.test': ['127.0.0.1', '10.0.0.1'],
    'rebind.test': [['127.0.0.1'], ['127.0.0.2']],
    'rebind-late.test': [['127.0.0.2'], ['127.0.0.1']],
  });
  proxy = await startProxy();
});

afterEach(async () => {
  await proxy.close();
  await upstream.close();
  await decoy.close();
});

describe('forwarding and records', () => {
  it('forwards an allowed plain HTTP request and records it', async () => {
    const access = open('ex_a', [{ host: 'api.test', ports: [upstream.port] }]);
    const answer = await viaProxy(proxy.address.port, `http://API.test.:${upstream.port}/v1/x?q=1`, {
      auth: authOf(access),
      headers: { host: 'evil.test', 'x-custom': 'kept' },
    });
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body);
    expect(seen.url).toBe('/v1/x?q=1');
    expect(seen.headers.host).toBe(`api.test:${upstream.port}`);
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    const { records } = proxy.closeRun('ex_a');
    expect(records).toEqual([
      {
        execution_id: 'ex_a',
        time: expect.any(String),
        method: 'GET',
        scheme: 'http',
        host: 'api.test',
        port: upstream.port,
        path: '/v1/x?q=1',
        address: '127.0.0.1',
        decision: 'allowed',
        reason: null,
        status: 200,
        bytes_out: expect.any(Number),
        bytes_in: expect.any(Number),
        credential: null,
      },
    ]);
    expect(records[0]?.bytes_out).toBeGreaterThan(0);
    expect(records[0]?.bytes_in).toBeGreaterThan(answer.body.length);
  });

  it('tunnels CONNECT to an allowed TLS upstream and records the host only', async () => {
    await using pki = await makeTestPki(['api.test']);
    const tls = await startTlsUpstream(pki);
    try {
      await proxy.close();
      proxy = await startProxy({
        allowances: [{ address: '127.0.0.1', port: tls.port }],
        server: { ports: [tls.port] },
      });
      const access = open('ex_t', [{ host: 'api.test', ports: [tls.port] }]);
      const tunnel = await connectVia(proxy.address.port, `api.test:${tls.port}`, authOf(access));
      expect(tunnel.status).toBe(200);
      const text = await getOverTunnel(tunnel.socket, 'api.test', pki.ca);
      expect(text).toMatch(/^HTTP\/1.1 200/);
      expect(text).toContain('"url":"/through-tunnel"');
      await new Promise((r) => setTimeout(r, 50));
      const records = closedWithOneRecord(proxy, 'ex_t', {
        method: 'CONNECT',
        scheme: 'tunnel',
        host: 'api.test',
        path: null,
        address: '127.0.0.1',
        decision: 'allowed',
        status: 200,
      });
      expect(records[0]?.bytes_in).toBeGreaterThan(0);
    } finally {
      await tls.close();
    }
  });
});

describe('class 8: the proxy credential', () => {
  it('answers 407 with no dial for a missing, wrong, foreign or revoked credential', async () => {
    const a = open('ex_a', [{ host: 'api.test', ports: [upstream.port] }]);
    const b = open('ex_b', [{ host: 'other.test' }]);
    const url = `http://api.test:${upstream.port}/`;
    const cases = [
      undefined,
      basic('ex_a', 'wrong'),
      basic('ex_a', b.password),
      basic('ex_b', a.password),
      'Bearer x',
      'Basic !!!',
    ];
    for (const auth of cases) {
      const answer = await viaProxy(proxy.address.port, url, auth === undefined ? {} : { auth });
      expect(answer.status).toBe(407);
      expect(answer.headers['proxy-authenticate']).toBe('Basic realm="airlock-egress"');
      expect(JSON.parse(answer.body).error.code).toBe('proxy_auth_required');
      const tunnel = await connectVia(proxy.address.port, `api.test:${upstream.port}`, auth);
      expect(tunnel.status).toBe(407);
    }
    proxy.closeRun('ex_a');
    expect((await viaProxy(proxy.address.port, url, { auth: authOf(a) })).status).toBe(407);
    expect(upstream.connections).toBe(0);
    expect(resolver.calls.size).toBe(0);
  });

  it('answers 407 once the credential has expired', async () => {
    const access = proxy.openRun({
      executionId: 'ex_exp',
      network: { egress: 'proxy', allow: [{ host: 'api.test', ports: [upstream.port] }], credentials: [] },
      ttlMs: 1,
    });
    await new Promise((r) => setTimeout(r, 20));
    const answer = await viaProxy(proxy.address.port, `http://api.test:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(407);
    expect(upstream.connections).toBe(0);
  });

  it('ends the open tunnels of a run when it is closed', async () => {
    const access = open('ex_c', [{ host: 'api.test', ports: [upstream.port] }]);
    const tunnel = await connectVia(proxy.address.port, `api.test:${upstream.port}`, authOf(access));
    expect(tunnel.status).toBe(200);
    const closed = new Promise((r) => tunnel.socket.once('close', r));
    proxy.closeRun('ex_c');
    await closed;
    expect(tunnel.socket.destroyed).toBe(true);
  });
});

describe('class 1: SSRF through the proxy', () => {
  const forms = [
    '127.0.0.1',
    '2130706433',
    '0x7f.1',
    '127.1',
    '0177.0.0.1',
    '[::ffff:7f00:1]',
    '[::ffff:127.0.0.1]',
    '[::1]',
    '169.254.169.254',
    '0xa9fea9fe',
    '[::ffff:a9fe:a9fe]',
    '10.0.0.1',
    '0.0.0.0',
    '[64:ff9b::7f00:1]',
  ];

  it.each(forms)('refuses http://%s before any dial, with one deny record', async (host) => {
    // Even a rule naming the literal does not open a special-purpose address.
    const access = open('ex_s', [{ host: '*.test' }, { host: '127.0.0.1', ports: [80, upstream.port] }]);
    const answer = await viaProxy(proxy.address.port, `http://${host}:80/latest/meta-data/`, {
      auth: authOf(access),
    });
    expect([403]).toContain(answer.status);
    expect(JSON.parse(answer.body).error.code).toBe('egress_denied');
    const tunnel = await connectVia(proxy.address.port, `${host}:443`, authOf(access));
    expect(tunnel.status).toBe(403);
    const { records } = proxy.closeRun('ex_s');
    expect(records).toHaveLength(2);
    expect(records.map((r) => [r.decision, r.status, r.bytes_out, r.bytes_in])).toEqual([
      ['denied', 403, 0, 0],
      ['denied', 403, 0, 0],
    ]);
    expect(upstream.connections).toBe(0);
  });

  it('refuses the literal loopback on the allowed port too unless the rule allows that host', async () => {
    const access = open('ex_l', [{ host: 'api.test', ports: [upstream.port] }]);
    const answer = await viaProxy(proxy.address.port, `http://127.0.0.1:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(403);
    expect(proxy.closeRun('ex_l').records[0]?.reason).toBe("host 127.0.0.1 is not in the run's allow list");
    expect(upstream.connections).toBe(0);
  });

  it('refuses a name that resolves to the metadata address, and one with any blocked answer', async () => {
    const access = open('ex_n', [{ host: '*.test', ports: [80, upstream.port] }]);
    const meta = await viaProxy(proxy.address.port, 'http://metadata.test/latest/', { auth: authOf(access) });
    expect(meta.status).toBe(403);
    const mixed = await viaProxy(proxy.address.port, `http://mixed.test:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(mixed.status).toBe(403);
    const { records } = proxy.closeRun('ex_n');
    expect(records.map((r) => [r.host, r.address, r.decision, r.reason])).toEqual([
      [
        'metadata.test',
        '169.254.169.254',
        'denied',
        'address 169.254.169.254 is in a blocked range (ipv4 linkLocal)',
      ],
      ['mixed.test', '10.0.0.1', 'denied', 'address 10.0.0.1 is in a blocked range (ipv4 private)'],
    ]);
    expect(upstream.connections).toBe(0);
  });
});

describe('class 2: DNS rebinding', () => {
  it('resolves once and dials the checked address, never the second answer', async () => {
    const access = open('ex_r', [{ host: '*.test', ports: [upstream.port] }]);
    const answer = await viaProxy(proxy.address.port, `http://rebind.test:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(200);
    expect(resolver.calls.get('rebind.test')).toBe(1);
    expect(upstream.connections).toBe(1);
    expect(decoy.connections).toBe(0);
    const late = await viaProxy(proxy.address.port, `http://rebind-late.test:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(late.status).toBe(403);
    expect(resolver.calls.get('rebind-late.test')).toBe(1);
    expect(decoy.connections).toBe(0);
    expect(upstream.connections).toBe(1);
    expect(proxy.closeRun('ex_r').records.map((r) => [r.address, r.decision])).toEqual([
      ['127.0.0.1', 'allowed'],
      ['127.0.0.2', 'denied'],
    ]);
  });
});

describe('policy', () => {
  it('applies hosts, wildcards, ports, methods and the server deny list (deny wins)', async () => {
    await proxy.close();
    resolver = new TableResolver({
      'a.api.test': ['127.0.0.1'],
      'api.test': ['127.0.0.1'],
      'blocked.api.test': ['127.0.0.1'],
    });
    proxy = await startProxy({ server: { ports: [upstream.port], denyHosts: ['blocked.api.test'] } });
    const access = open('ex_p', [
      { host: '*.api.test', ports: [upstream.port], methods: ['GET'] },
      { host: 'api.test', ports: [upstream.port] },
    ]);
    const p = upstream.port;
    const go = (url: string, method = 'GET') =>
      viaProxy(proxy.address.port, url, { auth: authOf(access), method });
    expect((await go(`http://a.api.test:${p}/`)).status).toBe(200);
    expect((await go(`http://a.api.test:${p}/`, 'POST')).status).toBe(403);
    expect((await go(`http://api.test:${p}/`, 'POST')).status).toBe(200);
    expect((await go(`http://blocked.api.test:${p}/`)).status).toBe(403);
    expect((await go('http://api.test:81/')).status).toBe(403);
    expect((await connectVia(proxy.address.port, `a.api.test:${p}`, authOf(access))).status).toBe(403);
    expect((await go(`https://api.test:${p}/`)).status).toBe(400);
    expect(proxy.closeRun('ex_p').records.map((r) => r.reason)).toEqual([
      null,
      'method POST is not allowed for a.api.test',
      null,
      'host blocked.api.test is denied by the server',
      'port 81 is not allowed by the server',
      'tunnels to a.api.test are not allowed: its rule restricts methods',
      "invalid target: scheme 'https' is not forwarded; use CONNECT",
    ]);
  });
});

describe('class 24 and limits', () => {
  it('bounds concurrent tunnels per run with 429 and frees slots when they close', async () => {
    await proxy.close();
    proxy = await startProxy({ runLimits: { maxConnections: 3 } });
    const access = open('ex_m', [{ host: 'api.test', ports: [upstream.port] }]);
    const tunnels = await Promise.all(
      Array.from({ length: 3 }, () =>
        connectVia(proxy.address.port, `api.test:${upstream.port}`, authOf(access)),
      ),
    );
    expect(tunnels.map((t) => t.status)).toEqual([200, 200, 200]);
    const extra = await Promise.all(
      Array.from({ length: 20 }, () =>
        connectVia(proxy.address.port, `api.test:${upstream.port}`, authOf(access)),
      ),
    );
    expect(extra.map((t) => t.status)).toEqual(Array(20).fill(429));
    expect(upstream.connections).toBe(3);
    const first = tunnels[0]?.socket;
    const gone = new Promise((r) => first?.once('close', r));
    first?.destroy();
    await gone;
    await new Promise((r) => setTimeout(r, 50));
    const again = await connectVia(proxy.address.port, `api.test:${upstream.port}`, authOf(access));
    expect(again.status).toBe(200);
    for (const t of [...tunnels, again]) t.socket.destroy();
  });

  it('stops a run at its byte budget and refuses it afterwards', async () => {
    await proxy.close();
    await upstream.close();
    upstream = await startHttpUpstream('127.0.0.1', () => ({ body: 'x'.repeat(200_000) }));
    proxy = await startProxy({ runLimits: { maxBytes: 50_000 } });
    const access = open('ex_b', [{ host: 'api.test', ports: [upstream.port] }]);
    const big = await viaProxy(proxy.address.port, `http://api.test:${upstream.port}/`, {
      auth: authOf(access),
    }).catch((e: Error) => e);
    expect(big instanceof Error || big.body.length < 200_000).toBe(true);
    const after = await viaProxy(proxy.address.port, `http://api.test:${upstream.port}/`, {
      auth: authOf(access),
    });
    expect(after.status).toBe(429);
    expect(JSON.parse(after.body).error.message).toContain('byte budget exhausted');
    const reasons = proxy.closeRun('ex_b').records.map((r) => r.reason);
    expect(reasons).toEqual(['byte budget exhausted', 'byte budget exhausted']);
  });

  it('limits the request rate per run', async () => {
    await proxy.close();
    proxy = await startProxy({ runLimits: { requestsPerMinute: 3 } });
    const access = open('ex_q', [{ host: 'api.test', ports: [upstream.port] }]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await viaProxy(proxy.address.port, `http://api.test:${upstream.port}/`, { auth: authOf(access) }))
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(upstream.connections).toBe(3);
  });

  it('answers 431 to an oversized request head and 408 to one that never ends, without a dial', async () => {
    await proxy.close();
    proxy = await startProxy({ maxHeaderBytes: 4096, headersTimeoutMs: 500 });
    const access = open('ex_h', [{ host: 'api.test', ports: [upstream.port] }]);
    const big = await rawExchange(proxy.address.port, (s) =>
      s.write(
        `GET http://api.test:${upstream.port}/ HTTP/1.1\r\nproxy-authorization: ${authOf(access)}\r\nx-big: ${'a'.repeat(8192)}\r\n\r\n`,
      ),
    );
    expect(big).toMatch(/^HTTP\/1.1 431 /);
    const slow = await rawExchange(proxy.address.port, (s) => {
      s.write(`GET http://api.test:${upstream.port}/ HTTP/1.1\r\nproxy-authorization: ${authOf(access)}\r\n`);
      const drip = setInterval(() => s.writable && s.write('x-slow: 1\r\n'), 100);
      s.once('close', () => clearInterval(drip));
    });
    expect(slow).toMatch(/^HTTP\/1.1 408 /);
    expect(upstream.connections).toBe(0);
    expect(proxy.closeRun('ex_h').records).toEqual([]);
  });

  it('closes an idle tunnel after the idle timeout and records why', async () => {
    await proxy.close();
    proxy = await startProxy({ runLimits: { idleTimeoutMs: 200 } });
    const access = open('ex_i', [{ host: 'api.test', ports: [upstream.port] }]);
    const tunnel = await connectVia(proxy.address.port, `api.test:${upstream.port}`, authOf(access));
    expect(tunnel.status).toBe(200);
    await new Promise((r) => tunnel.socket.once('close', r));
    expect(proxy.closeRun('ex_i').records[0]?.reason).toBe('idle timeout');
  });
});
