// Closing a run while its requests are still in flight (the worker closes the run when the sandbox ends, which
// may be before the proxy has finished a request): each request or tunnel still leaves exactly one egress record
// ("aborted: run ended") in what closeRun returns, and nothing is recorded after that. Real loopback sockets; names
// resolve through a resolver of the test's own, never real DNS.

import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressProxy } from './egress-proxy.ts';
import type { RunAccess } from './egress-runs.ts';
import type { Resolver } from './resolver.ts';
import { basic, closedWithOneRecord, connectVia, viaProxy } from './test-upstreams.ts';

/** Accepts and reads, never answers: a request to it stays in flight until something ends it. */
let silent: Server;
const held: Socket[] = [];
let received = 0;
let proxy: EgressProxy;
/** Resolutions started; `stuck.test` never resolves. */
const lookups: string[] = [];

const silentPort = () => (silent.address() as AddressInfo).port;

const resolver: Resolver = {
  resolve(name) {
    lookups.push(name);
    return name === 'stuck.test' ? new Promise<string[]>(() => {}) : Promise.resolve(['127.0.0.1']);
  },
};

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

function open(executionId: string): RunAccess {
  return proxy.openRun({
    executionId,
    network: {
      egress: 'proxy',
      allow: [
        { host: 'silent.test', ports: [silentPort()] },
        { host: 'stuck.test', ports: [silentPort()] },
      ],
      credentials: [],
    },
    ttlMs: 60_000,
  });
}

/** Opens run `executionId` and sends GET `url` through the proxy: the answer, or the error that ended it. */
function requestInFlight(executionId: string, url: string): Promise<unknown> {
  const access = open(executionId);
  return viaProxy(proxy.address.port, url, { auth: basic(access.username, access.password) }).catch(
    (error: Error) => error,
  );
}

beforeEach(async () => {
  received = 0;
  lookups.length = 0;
  silent = createServer((socket) => {
    held.push(socket);
    socket.on('data', () => received++);
    socket.on('error', () => {});
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  proxy = await EgressProxy.start({
    host: '127.0.0.1',
    port: 0,
    resolver,
    allowances: [{ address: '127.0.0.1', port: silentPort() }],
    server: { ports: [silentPort()] },
  });
});

afterEach(async () => {
  await proxy.close();
  for (const socket of held.splice(0)) socket.destroy();
  silent.close();
});

describe('closing a run with requests in flight', () => {
  it('records a forwarded request the upstream has not answered yet', async () => {
    const answer = requestInFlight('ex_fwd', `http://silent.test:${silentPort()}/slow`);
    await until(() => received > 0);
    const { records } = proxy.closeRun('ex_fwd');
    expect(records).toEqual([
      {
        execution_id: 'ex_fwd',
        time: expect.any(String),
        method: 'GET',
        scheme: 'http',
        host: 'silent.test',
        port: silentPort(),
        path: '/slow',
        address: '127.0.0.1',
        decision: 'allowed',
        reason: 'aborted: run ended',
        status: null,
        bytes_out: expect.any(Number),
        bytes_in: 0,
        credential: null,
      },
    ]);
    expect(records[0]?.bytes_out).toBeGreaterThan(0);
    // The client's connection is torn down, and the request's own close records nothing more.
    expect(await answer).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 50));
    expect(records).toHaveLength(1);
  });

  it('records a request still being admitted (its name not resolved yet) and never dials it', async () => {
    const answer = requestInFlight('ex_adm', `http://stuck.test:${silentPort()}/`);
    await until(() => lookups.includes('stuck.test'));
    closedWithOneRecord(proxy, 'ex_adm', {
      method: 'GET',
      host: 'stuck.test',
      path: '/',
      address: null,
      decision: 'denied',
      reason: 'aborted: run ended',
      status: null,
    });
    expect(await answer).toBeInstanceOf(Error);
    expect(held).toHaveLength(0);
  });

  it('records an open tunnel with the bytes it carried', async () => {
    const access = open('ex_tun');
    const tunnel = await connectVia(
      proxy.address.port,
      `silent.test:${silentPort()}`,
      basic(access.username, access.password),
    );
    expect(tunnel.status).toBe(200);
    tunnel.socket.on('error', () => {});
    tunnel.socket.write('hello');
    await until(() => received > 0);
    const closed = once(tunnel.socket, 'close');
    const records = closedWithOneRecord(proxy, 'ex_tun', {
      method: 'CONNECT',
      scheme: 'tunnel',
      host: 'silent.test',
      address: '127.0.0.1',
      decision: 'allowed',
      reason: 'aborted: run ended',
      bytes_out: 5,
      bytes_in: 0,
    });
    await closed;
    expect(records).toHaveLength(1);
  });

  it('a second close returns nothing and the first list stays complete', async () => {
    const answer = requestInFlight('ex_twice', `http://silent.test:${silentPort()}/`);
    await until(() => received > 0);
    expect(proxy.closeRun('ex_twice').records.map((r) => r.reason)).toEqual(['aborted: run ended']);
    expect(proxy.closeRun('ex_twice').records).toEqual([]);
    await answer;
  });
});
