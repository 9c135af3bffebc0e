// Egress end to end on the isolate backend, through the real REST API: guest `fetch` goes through
// the same embedded egress proxy as the containers (the isolate host is a forward-proxy client holding the
// run's proxy credential). An allowed loopback upstream is reached (names from a hosts table, never DNS); a
// disallowed host and a literal address are refused with egress records; a credential reaches a TLS upstream
// in its header while the guest only sees the sentinel, in airlock.env and in the scrubbed echo; https goes
// through a tunnel whose certificate the host verifies; the wall clock ends a fetch that never answers; bodies
// are capped; a run without egress has no working fetch. Leaves no network or firewall rule behind.

import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EgressScenario,
  egressSummary,
  expectCredentialInjected,
  finishedRecord,
  readAudit,
  startEgressScenario,
} from './support/egress.ts';
import { run, type TestService } from './support/service.ts';

const SLOW = 120_000;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-${Date.now()}`;

let scenario: EgressScenario;
let svc: TestService;
let upstream: Upstream;
let tls: Upstream;
let big: Upstream;
let silent: Server;
const held: Socket[] = [];

const silentPort = () => (silent.address() as AddressInfo).port;

beforeAll(async () => {
  big = await startHttpUpstream('127.0.0.1', () => ({ body: 'x'.repeat(9 * 1024 * 1024) }));
  // Accepts and reads, never answers: only the job's wall clock ends a fetch to it.
  silent = createServer((socket) => {
    held.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  scenario = await startEgressScenario(
    {
      prefix: 'airlock-egress-isolate-',
      tlsNames: ['api.test', 'tls.test'],
      hosts: ['upstream.test', 'api.test', 'tls.test', 'silent.test', 'big.test'],
      canary: CANARY,
    },
    { AIRLOCK_BACKENDS: 'isolate', AIRLOCK_MAX_WAIT_SECONDS: '120' },
    [silentPort(), big.port],
  );
  ({ svc } = scenario);
  ({ upstream, tls } = scenario.upstreams);
}, SLOW);

afterAll(async () => {
  for (const socket of held) socket.destroy();
  silent?.close();
  await big?.close();
  await scenario?.close();
}, SLOW);

const allow = () => [
  { host: 'upstream.test', ports: [upstream.port] },
  { host: 'api.test', ports: [tls.port] },
  { host: 'tls.test', ports: [tls.port] },
  { host: 'silent.test', ports: [silentPort()] },
  { host: 'big.test', ports: [big.port] },
];

const isolateRun = (code: string, extra: Record<string, unknown> = {}) =>
  run(
    svc.url,
    {
      language: 'javascript',
      code,
      limits: { wall_time_ms: 30_000 },
      network: { egress: 'proxy', allow: allow() },
      ...extra,
    },
    90,
  );

describe('guest fetch on the isolate', () => {
  it(
    'reaches the allowed upstream through the proxy; other hosts are refused and recorded',
    async () => {
      const before = upstream.requests.length;
      const up = upstream.port;
      const execution = await isolateRun(`
        const get = await fetch('http://upstream.test:${up}/js?x=1', { headers: { 'x-probe': 'one' } });
        const echoed = await get.json();
        console.log('get', get.status, get.ok, get.headers.get('content-type'), echoed.url, echoed.headers['x-probe']);
        const post = await fetch(new URL('http://upstream.test:${up}/post'), { method: 'POST', body: new Uint8Array([104, 105]) });
        console.log('post', (await post.json()).body);
        for (const url of ['http://other.test:${up}/', 'http://127.0.0.1:${up}/', 'http://169.254.169.254/latest/meta-data/']) {
          const r = await fetch(url);
          console.log('denied', r.status, (await r.json()).error.code);
        }
        console.log('env', JSON.stringify(airlock.env));
      `);
      expect(execution.result.stderr).toBe('');
      expect(execution.result.stdout).toBe(
        [
          'get 200 true application/json /js?x=1 one',
          'post hi',
          'denied 403 egress_denied',
          'denied 403 egress_denied',
          'denied 403 egress_denied',
          'env {}',
          '',
        ].join('\n'),
      );
      expect(execution.result.outcome).toBe('success');
      expect(upstream.requests.length).toBe(before + 2);
      expect(egressSummary(execution.result.egress)).toEqual([
        ['GET', 'http', 'upstream.test', up, '/js?x=1', 'allowed', 200],
        ['POST', 'http', 'upstream.test', up, '/post', 'allowed', 200],
        ['GET', 'http', 'other.test', up, '/', 'denied', 403],
        ['GET', 'http', '127.0.0.1', up, '/', 'denied', 403],
        ['GET', 'http', '169.254.169.254', 80, '/latest/meta-data/', 'denied', 403],
      ]);
      expect(execution.result.egress[0]).toMatchObject({ execution_id: execution.id, address: '127.0.0.1' });
      const finished = await finishedRecord(() => readAudit(svc), execution.id);
      expect(finished.detail.egress.map((r: any) => r.decision)).toEqual([
        'allowed',
        'allowed',
        'denied',
        'denied',
        'denied',
      ]);
    },
    SLOW,
  );

  it(
    'a credential reaches the TLS upstream in its header; the guest sees only the sentinel',
    async () => {
      const before = tls.requests.length;
      const execution = await isolateRun(
        `
        const sentinel = airlock.env.AIRLOCK_CREDENTIAL_API;
        console.log('sentinel', sentinel.startsWith('airlock-sentinel-'), Object.keys(airlock.env).join());
        const r = await fetch('http://api.test:${tls.port}/whoami', { headers: { authorization: 'Bearer ' + sentinel } });
        const body = await r.json();
        console.log('echo', body.headers.authorization);
        console.log('header', r.headers.get('x-echo-authorization'));
      `,
        { network: { egress: 'proxy', allow: allow(), credentials: ['api'] } },
      );
      expect(execution.result.stderr).toBe('');
      const stars = '*'.repeat(CANARY.length);
      expect(execution.result.stdout).toBe(
        `sentinel true AIRLOCK_CREDENTIAL_API\necho Bearer ${stars}\nheader Bearer ${stars}\n`,
      );
      await expectCredentialInjected(svc, execution, tls, before, CANARY);
    },
    SLOW,
  );

  it(
    'https goes through a tunnel whose certificate the isolate host verifies',
    async () => {
      const execution = await isolateRun(`
        try { await fetch('https://tls.test:${tls.port}/'); console.log('fetched') }
        catch (e) { console.log(e.name, /certificate/.test(e.message)) }
      `);
      expect(execution.result.stdout).toBe('TypeError true\n');
      expect(execution.result.egress.map((r: any) => [r.method, r.host, r.decision])).toEqual([
        ['CONNECT', 'tls.test', 'allowed'],
      ]);
    },
    SLOW,
  );

  it(
    "the job's wall clock ends a fetch that never answers",
    async () => {
      const execution = await isolateRun(
        `await fetch('http://silent.test:${silentPort()}/'); console.log('answered');`,
        {
          limits: { wall_time_ms: 2_000 },
        },
      );
      expect(execution.result.outcome).toBe('timeout');
      expect(execution.result.stdout).toBe('');
      // The request reached the upstream once, and ending the run tore its connection down.
      expect(held.length).toBe(1);
      const socket = held[0] as Socket;
      if (!socket.closed) await once(socket, 'close');
    },
    SLOW,
  );

  it(
    'caps request and response bodies',
    async () => {
      const execution = await isolateRun(`
        for (const go of [
          () => fetch('http://upstream.test:${upstream.port}/', { method: 'POST', body: new Uint8Array(5 * 1024 * 1024) }),
          () => fetch('http://big.test:${big.port}/'),
        ]) {
          try { await go(); console.log('fetched') } catch (e) { console.log(e.name + ': ' + e.message) }
        }
      `);
      expect(execution.result.stdout).toBe(
        'TypeError: fetch failed: request body exceeds 4194304 bytes\n' +
          'TypeError: fetch failed: response body exceeds 8388608 bytes\n',
      );
      expect(execution.result.egress.map((r: any) => [r.host, r.decision])).toEqual([
        ['big.test', 'allowed'],
      ]);
    },
    SLOW,
  );

  it(
    'a run without egress has no working fetch',
    async () => {
      const execution = await run(svc.url, {
        language: 'javascript',
        code: `try { await fetch('http://upstream.test:${upstream.port}/') } catch (e) { console.log(e.name + ': ' + e.message) }`,
      });
      expect(execution.result.stdout).toBe(
        "TypeError: fetch failed: this run has no network egress (ask for network: { egress: 'proxy', allow: [...] } on a server that offers it)\n",
      );
      expect(execution.result.egress).toBeUndefined();
    },
    SLOW,
  );
});
