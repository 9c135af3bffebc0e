// The proxy against real loopback upstreams (SECURITY.md classes 1, 2, 5 and 8 at the proxy, and its policy).
// Upstreams are reached only through explicit allowances; names resolve through a TableResolver, never real DNS.
// Class 24 (per-run limits) is in egress-proxy-limits.test.ts.

import { describe, expect, it } from 'vitest';
import { authOf, useProxyWorld } from './proxy-world.ts';
import { TableResolver } from './resolver.ts';
import {
  basic,
  closedWithOneRecord,
  connectVia,
  getOverTunnel,
  makeTestPki,
  startTlsUpstream,
  viaProxy,
} from './test-upstreams.ts';

const f = useProxyWorld();

describe('forwarding and records', () => {
  it('forwards an allowed plain HTTP request and records it', async () => {
    const access = f.open('ex_a', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const answer = await viaProxy(f.proxy.address.port, `http://API.test.:${f.upstream.port}/v1/x?q=1`, {
      auth: authOf(access),
      headers: { host: 'evil.test', 'x-custom': 'kept' },
    });
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body);
    expect(seen.url).toBe('/v1/x?q=1');
    expect(seen.headers.host).toBe(`api.test:${f.upstream.port}`);
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    const { records } = f.proxy.closeRun('ex_a');
    expect(records).toEqual([
      {
        execution_id: 'ex_a',
        time: expect.any(String),
        method: 'GET',
        scheme: 'http',
        host: 'api.test',
        port: f.upstream.port,
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
      await f.proxy.close();
      f.proxy = await f.startProxy({
        allowances: [{ address: '127.0.0.1', port: tls.port }],
        server: { ports: [tls.port] },
      });
      const access = f.open('ex_t', [{ host: 'api.test', ports: [tls.port] }]);
      const tunnel = await connectVia(f.proxy.address.port, `api.test:${tls.port}`, authOf(access));
      expect(tunnel.status).toBe(200);
      const text = await getOverTunnel(tunnel.socket, 'api.test', pki.ca);
      expect(text).toMatch(/^HTTP\/1.1 200/);
      expect(text).toContain('"url":"/through-tunnel"');
      await new Promise((r) => setTimeout(r, 50));
      const records = closedWithOneRecord(f.proxy, 'ex_t', {
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
    const a = f.open('ex_a', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const b = f.open('ex_b', [{ host: 'other.test' }]);
    const url = `http://api.test:${f.upstream.port}/`;
    const cases = [
      undefined,
      basic('ex_a', 'wrong'),
      basic('ex_a', b.password),
      basic('ex_b', a.password),
      'Bearer x',
      'Basic !!!',
    ];
    for (const auth of cases) {
      const answer = await viaProxy(f.proxy.address.port, url, auth === undefined ? {} : { auth });
      expect(answer.status).toBe(407);
      expect(answer.headers['proxy-authenticate']).toBe('Basic realm="airlock-egress"');
      expect(JSON.parse(answer.body).error.code).toBe('proxy_auth_required');
      const tunnel = await connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, auth);
      expect(tunnel.status).toBe(407);
    }
    f.proxy.closeRun('ex_a');
    expect((await viaProxy(f.proxy.address.port, url, { auth: authOf(a) })).status).toBe(407);
    expect(f.upstream.connections).toBe(0);
    expect(f.resolver.calls.size).toBe(0);
  });

  it('answers 407 once the credential has expired', async () => {
    const access = f.proxy.openRun({
      executionId: 'ex_exp',
      network: { egress: 'proxy', allow: [{ host: 'api.test', ports: [f.upstream.port] }], credentials: [] },
      ttlMs: 1,
    });
    await new Promise((r) => setTimeout(r, 20));
    const answer = await viaProxy(f.proxy.address.port, `http://api.test:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(407);
    expect(f.upstream.connections).toBe(0);
  });

  it('ends the open tunnels of a run when it is closed', async () => {
    const access = f.open('ex_c', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const tunnel = await connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, authOf(access));
    expect(tunnel.status).toBe(200);
    const closed = new Promise((r) => tunnel.socket.once('close', r));
    f.proxy.closeRun('ex_c');
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
    const access = f.open('ex_s', [{ host: '*.test' }, { host: '127.0.0.1', ports: [80, f.upstream.port] }]);
    const answer = await viaProxy(f.proxy.address.port, `http://${host}:80/latest/meta-data/`, {
      auth: authOf(access),
    });
    expect([403]).toContain(answer.status);
    expect(JSON.parse(answer.body).error.code).toBe('egress_denied');
    const tunnel = await connectVia(f.proxy.address.port, `${host}:443`, authOf(access));
    expect(tunnel.status).toBe(403);
    const { records } = f.proxy.closeRun('ex_s');
    expect(records).toHaveLength(2);
    expect(records.map((r) => [r.decision, r.status, r.bytes_out, r.bytes_in])).toEqual([
      ['denied', 403, 0, 0],
      ['denied', 403, 0, 0],
    ]);
    expect(f.upstream.connections).toBe(0);
  });

  it('refuses the literal loopback on the allowed port too unless the rule allows that host', async () => {
    const access = f.open('ex_l', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const answer = await viaProxy(f.proxy.address.port, `http://127.0.0.1:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(403);
    expect(f.proxy.closeRun('ex_l').records[0]?.reason).toBe("host 127.0.0.1 is not in the run's allow list");
    expect(f.upstream.connections).toBe(0);
  });

  it('refuses a name that resolves to the metadata address, and one with any blocked answer', async () => {
    const access = f.open('ex_n', [{ host: '*.test', ports: [80, f.upstream.port] }]);
    const meta = await viaProxy(f.proxy.address.port, 'http://metadata.test/latest/', {
      auth: authOf(access),
    });
    expect(meta.status).toBe(403);
    const mixed = await viaProxy(f.proxy.address.port, `http://mixed.test:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(mixed.status).toBe(403);
    const { records } = f.proxy.closeRun('ex_n');
    expect(records.map((r) => [r.host, r.address, r.decision, r.reason])).toEqual([
      [
        'metadata.test',
        '169.254.169.254',
        'denied',
        'address 169.254.169.254 is in a blocked range (ipv4 linkLocal)',
      ],
      ['mixed.test', '10.0.0.1', 'denied', 'address 10.0.0.1 is in a blocked range (ipv4 private)'],
    ]);
    expect(f.upstream.connections).toBe(0);
  });
});

describe('class 2: DNS rebinding', () => {
  it('resolves once and dials the checked address, never the second answer', async () => {
    const access = f.open('ex_r', [{ host: '*.test', ports: [f.upstream.port] }]);
    const answer = await viaProxy(f.proxy.address.port, `http://rebind.test:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(answer.status).toBe(200);
    expect(f.resolver.calls.get('rebind.test')).toBe(1);
    expect(f.upstream.connections).toBe(1);
    expect(f.decoy.connections).toBe(0);
    const late = await viaProxy(f.proxy.address.port, `http://rebind-late.test:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(late.status).toBe(403);
    expect(f.resolver.calls.get('rebind-late.test')).toBe(1);
    expect(f.decoy.connections).toBe(0);
    expect(f.upstream.connections).toBe(1);
    expect(f.proxy.closeRun('ex_r').records.map((r) => [r.address, r.decision])).toEqual([
      ['127.0.0.1', 'allowed'],
      ['127.0.0.2', 'denied'],
    ]);
  });
});

describe('policy', () => {
  it('applies hosts, wildcards, ports, methods and the server deny list (deny wins)', async () => {
    await f.proxy.close();
    f.resolver = new TableResolver({
      'a.api.test': ['127.0.0.1'],
      'api.test': ['127.0.0.1'],
      'blocked.api.test': ['127.0.0.1'],
    });
    f.proxy = await f.startProxy({ server: { ports: [f.upstream.port], denyHosts: ['blocked.api.test'] } });
    const access = f.open('ex_p', [
      { host: '*.api.test', ports: [f.upstream.port], methods: ['GET'] },
      { host: 'api.test', ports: [f.upstream.port] },
    ]);
    const p = f.upstream.port;
    const go = (url: string, method = 'GET') =>
      viaProxy(f.proxy.address.port, url, { auth: authOf(access), method });
    expect((await go(`http://a.api.test:${p}/`)).status).toBe(200);
    expect((await go(`http://a.api.test:${p}/`, 'POST')).status).toBe(403);
    expect((await go(`http://api.test:${p}/`, 'POST')).status).toBe(200);
    expect((await go(`http://blocked.api.test:${p}/`)).status).toBe(403);
    expect((await go('http://api.test:81/')).status).toBe(403);
    expect((await connectVia(f.proxy.address.port, `a.api.test:${p}`, authOf(access))).status).toBe(403);
    expect((await go(`https://api.test:${p}/`)).status).toBe(400);
    expect(f.proxy.closeRun('ex_p').records.map((r) => r.reason)).toEqual([
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
