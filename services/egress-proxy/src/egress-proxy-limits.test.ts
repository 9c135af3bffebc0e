// SECURITY.md class 24 at the proxy: per-run limits on tunnels, bytes, request rate, request heads and idle
// tunnels, against real loopback upstreams (names through a TableResolver, never real DNS).

import { describe, expect, it } from 'vitest';
import { authOf, useProxyWorld } from './proxy-world.ts';
import { connectVia, rawExchange, startHttpUpstream, viaProxy } from './test-upstreams.ts';

const f = useProxyWorld();

describe('class 24 and limits', () => {
  it('bounds concurrent tunnels per run with 429 and frees slots when they close', async () => {
    await f.proxy.close();
    f.proxy = await f.startProxy({ runLimits: { maxConnections: 3 } });
    const access = f.open('ex_m', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const tunnels = await Promise.all(
      Array.from({ length: 3 }, () =>
        connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, authOf(access)),
      ),
    );
    expect(tunnels.map((t) => t.status)).toEqual([200, 200, 200]);
    const extra = await Promise.all(
      Array.from({ length: 20 }, () =>
        connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, authOf(access)),
      ),
    );
    expect(extra.map((t) => t.status)).toEqual(Array(20).fill(429));
    expect(f.upstream.connections).toBe(3);
    const first = tunnels[0]?.socket;
    const gone = new Promise((r) => first?.once('close', r));
    first?.destroy();
    await gone;
    await new Promise((r) => setTimeout(r, 50));
    const again = await connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, authOf(access));
    expect(again.status).toBe(200);
    for (const t of [...tunnels, again]) t.socket.destroy();
  });

  it('stops a run at its byte budget and refuses it afterwards', async () => {
    await f.proxy.close();
    await f.upstream.close();
    f.upstream = await startHttpUpstream('127.0.0.1', () => ({ body: 'x'.repeat(200_000) }));
    f.proxy = await f.startProxy({ runLimits: { maxBytes: 50_000 } });
    const access = f.open('ex_b', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const big = await viaProxy(f.proxy.address.port, `http://api.test:${f.upstream.port}/`, {
      auth: authOf(access),
    }).catch((e: Error) => e);
    expect(big instanceof Error || big.body.length < 200_000).toBe(true);
    const after = await viaProxy(f.proxy.address.port, `http://api.test:${f.upstream.port}/`, {
      auth: authOf(access),
    });
    expect(after.status).toBe(429);
    expect(JSON.parse(after.body).error.message).toContain('byte budget exhausted');
    const reasons = f.proxy.closeRun('ex_b').records.map((r) => r.reason);
    expect(reasons).toEqual(['byte budget exhausted', 'byte budget exhausted']);
  });

  it('limits the request rate per run', async () => {
    await f.proxy.close();
    f.proxy = await f.startProxy({ runLimits: { requestsPerMinute: 3 } });
    const access = f.open('ex_q', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await viaProxy(f.proxy.address.port, `http://api.test:${f.upstream.port}/`, {
            auth: authOf(access),
          })
        ).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(f.upstream.connections).toBe(3);
  });

  it('answers 431 to an oversized request head and 408 to one that never ends, without a dial', async () => {
    await f.proxy.close();
    f.proxy = await f.startProxy({ maxHeaderBytes: 4096, headersTimeoutMs: 500 });
    const access = f.open('ex_h', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const big = await rawExchange(f.proxy.address.port, (s) =>
      s.write(
        `GET http://api.test:${f.upstream.port}/ HTTP/1.1\r\nproxy-authorization: ${authOf(access)}\r\nx-big: ${'a'.repeat(8192)}\r\n\r\n`,
      ),
    );
    expect(big).toMatch(/^HTTP\/1.1 431 /);
    const slow = await rawExchange(f.proxy.address.port, (s) => {
      s.write(
        `GET http://api.test:${f.upstream.port}/ HTTP/1.1\r\nproxy-authorization: ${authOf(access)}\r\n`,
      );
      const drip = setInterval(() => s.writable && s.write('x-slow: 1\r\n'), 100);
      s.once('close', () => clearInterval(drip));
    });
    expect(slow).toMatch(/^HTTP\/1.1 408 /);
    expect(f.upstream.connections).toBe(0);
    expect(f.proxy.closeRun('ex_h').records).toEqual([]);
  });

  it('closes an idle tunnel after the idle timeout and records why', async () => {
    await f.proxy.close();
    f.proxy = await f.startProxy({ runLimits: { idleTimeoutMs: 200 } });
    const access = f.open('ex_i', [{ host: 'api.test', ports: [f.upstream.port] }]);
    const tunnel = await connectVia(f.proxy.address.port, `api.test:${f.upstream.port}`, authOf(access));
    expect(tunnel.status).toBe(200);
    await new Promise((r) => tunnel.socket.once('close', r));
    expect(f.proxy.closeRun('ex_i').records[0]?.reason).toBe('idle timeout');
  });
});
