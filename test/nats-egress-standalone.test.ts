// Egress scaled out on NATS through one standalone proxy per Docker host (issue #4, AIRLOCK_EGRESS=remote): a
// real nats-server, the standalone proxy process (services/egress-proxy: egress network, firewall, proxy, run
// control on `airlock.egress.<id>.`), a gateway with AIRLOCK_EGRESS=on and a worker with AIRLOCK_EGRESS=remote
// that starts no proxy of its own. A javascript guest fetch (isolate) and a python urllib run (docker = runc,
// joined to the proxy's network) reach an allowed loopback upstream (a test-only allowance; names from a hosts
// table, never DNS), another host is refused, and both leave egress records in result.egress. Bad messages on
// the control subjects get coded errors and the proxy keeps serving. Stopped with SIGTERM, the processes
// leave no network, firewall rule or container behind.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import { egressFirewallRules } from '@airlock/sandbox';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersLabelled } from './support/containers.ts';
import { type AirlockProcess, NatsCluster, rest, until } from './support/nats-cluster.ts';

const SLOW = 240_000;
const PROXY_ID = `test-${process.pid}`;
const SUBJECT = `airlock.egress.${PROXY_ID}`;

let cluster: NatsCluster;
let dir: string;
let upstream: Upstream;
let proxy: AirlockProcess;
let gateway: AirlockProcess;
let worker: AirlockProcess;
let networkName = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-nats-egress-standalone-'));
  upstream = await startHttpUpstream('127.0.0.1');
  await writeFile(join(dir, 'hosts.json'), JSON.stringify({ 'upstream.test': ['127.0.0.1'] }));
  cluster = await NatsCluster.start({
    env: { AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_MAX_WAIT_SECONDS: '180' },
  });
  proxy = await cluster.egressProxy({
    AIRLOCK_EGRESS_PROXY_ID: PROXY_ID,
    AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${upstream.port}`,
    AIRLOCK_EGRESS_HOSTS_FILE: join(dir, 'hosts.json'),
  });
  const match = /"network":"(airlock-egress-[0-9a-f]+)"/.exec(proxy.output());
  if (!match?.[1]) {
    throw new Error(
      `the egress proxy started no egress network (needs dockerd, iptables and nsenter):\n${proxy.output()}`,
    );
  }
  networkName = match[1];
  [gateway, worker] = await Promise.all([
    cluster.gateway({ AIRLOCK_EGRESS: 'on' }),
    cluster.worker({ AIRLOCK_EGRESS: 'remote', AIRLOCK_EGRESS_PROXY_ID: PROXY_ID, AIRLOCK_POOL_SIZE: '0' }),
  ]);
  const ready = new RegExp(`"egress":"[\\d.]+:\\d+ on ${networkName} \\(proxy ${PROXY_ID}\\)"`);
  if (!ready.test(worker.output())) {
    throw new Error(`the worker's ready line does not name the standalone proxy:\n${worker.output()}`);
  }
}, SLOW);

afterAll(async () => {
  for (const started of [worker, proxy]) {
    if (started && started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    }
  }
  await cluster?.[Symbol.asyncDispose]();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (networkName) {
    const left = execFileSync('docker', ['network', 'ls', '-q', '--filter', `name=${networkName}`], {
      encoding: 'utf8',
    });
    expect(left.trim()).toBe('');
    expect(await egressFirewallRules(networkName)).toEqual([]);
  }
  for (const started of [worker, proxy]) {
    if (started?.child.pid) {
      expect(containersLabelled(`airlock.owner=${hostname()}:${started.child.pid}`)).toEqual([]);
    }
  }
}, SLOW);

const network = () => ({ egress: 'proxy', allow: [{ host: 'upstream.test', ports: [upstream.port] }] });

const submit = (body: Record<string, unknown>) =>
  rest(gateway.url, 'POST', '/v1/executions?wait=180', { limits: { wall_time_ms: 30_000 }, ...body });

const summary = (records: any[]) =>
  records.map((r) => [r.method, r.scheme, r.host, r.port, r.path, r.decision, r.status]);

async function finishedRecord(id: string): Promise<Record<string, any>> {
  let record: Record<string, any> | undefined;
  await until(async () => {
    record = (await worker.audit()).find((r) => r.type === 'finished' && r.execution_id === id);
    return record !== undefined;
  }, 100);
  return record as Record<string, any>;
}

async function ask(nc: NatsConnection, kind: string, payload: string): Promise<any> {
  const reply = await nc.request(`${SUBJECT}.${kind}`, payload, { timeout: 20_000 });
  return reply.json();
}

describe('egress scaled out on NATS through a standalone proxy', () => {
  it(
    'a javascript guest fetch on the remote-egress worker reaches the allowed upstream; another host is refused',
    async () => {
      const before = upstream.requests.length;
      const up = upstream.port;
      const response = await submit({
        language: 'javascript',
        code: `
          const ok = await fetch('http://upstream.test:${up}/standalone?x=1');
          console.log('allowed', ok.status, (await ok.json()).url);
          const no = await fetch('http://other.test:${up}/');
          console.log('denied', no.status, (await no.json()).error.code);
        `,
        network: network(),
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ status: 'finished', backend: 'isolate' });
      expect(response.body.result).toMatchObject({
        outcome: 'success',
        stdout: 'allowed 200 /standalone?x=1\ndenied 403 egress_denied\n',
        stderr: '',
      });
      expect(summary(response.body.result.egress)).toEqual([
        ['GET', 'http', 'upstream.test', up, '/standalone?x=1', 'allowed', 200],
        ['GET', 'http', 'other.test', up, '/', 'denied', 403],
      ]);
      expect(response.body.result.egress[0]).toMatchObject({
        execution_id: response.body.id,
        address: '127.0.0.1',
      });
      expect(upstream.requests.length).toBe(before + 1);
      const finished = await finishedRecord(response.body.id);
      expect(finished.detail.egress.map((r: any) => r.decision)).toEqual(['allowed', 'denied']);
    },
    SLOW,
  );

  it(
    "a python urllib run in a runc container joins the proxy's network and goes through it",
    async () => {
      const before = upstream.requests.length;
      const up = upstream.port;
      const response = await submit({
        language: 'python',
        backend: 'docker',
        env: { UP: String(up) },
        code: [
          'import json, os, urllib.error, urllib.request',
          "up = os.environ['UP']",
          "r = urllib.request.urlopen(f'http://upstream.test:{up}/py', timeout=30)",
          "print('allowed', r.status, json.loads(r.read())['url'])",
          'try:',
          "    urllib.request.urlopen(f'http://other.test:{up}/', timeout=30)",
          "    print('reached')",
          'except urllib.error.HTTPError as e:',
          "    print('denied', e.code, json.loads(e.read())['error']['code'])",
        ].join('\n'),
        network: network(),
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ status: 'finished', backend: 'docker' });
      expect(response.body.result).toMatchObject({
        outcome: 'success',
        stdout: 'allowed 200 /py\ndenied 403 egress_denied\n',
      });
      expect(summary(response.body.result.egress)).toEqual([
        ['GET', 'http', 'upstream.test', up, '/py', 'allowed', 200],
        ['GET', 'http', 'other.test', up, '/', 'denied', 403],
      ]);
      expect(upstream.requests.length).toBe(before + 1);
    },
    SLOW,
  );

  it(
    'answers bad control messages with coded errors and keeps serving',
    async () => {
      const nc = await cluster.connect();
      expect(await ask(nc, 'open', 'not json')).toEqual({
        error: { code: 'invalid_json', message: 'The message is not valid UTF-8 JSON.' },
      });
      expect(await ask(nc, 'close', '\u00ff{')).toMatchObject({ error: { code: 'invalid_json' } });
      expect(await ask(nc, 'open', JSON.stringify({ execution_id: 'ex_1', ttl_ms: 1000 }))).toMatchObject({
        error: { code: 'invalid_request', field: 'network' },
      });
      expect(
        await ask(nc, 'open', JSON.stringify({ execution_id: 'a:b', network: network(), ttl_ms: 1000 })),
      ).toMatchObject({ error: { code: 'invalid_request', field: 'execution_id' } });
      expect(await ask(nc, 'close', JSON.stringify({ execution_id: 'ex_unknown' }))).toEqual({
        error: {
          code: 'execution_not_found',
          message: 'no egress run ex_unknown is open here',
          field: 'execution_id',
        },
      });
      expect(
        await ask(
          nc,
          'open',
          JSON.stringify({
            execution_id: 'ex_cred',
            network: { ...network(), credentials: ['api'] },
            ttl_ms: 60_000,
          }),
        ),
      ).toEqual({
        error: {
          code: 'egress_unavailable',
          message: "credential 'api' has no binding on this server",
          field: 'network.credentials[0]',
        },
      });
      nc.publish(`${SUBJECT}.open`, 'a publish with no reply subject');

      // Still serving: a run opens (twice is refused), and closes with its (empty) records.
      const open = JSON.stringify({ execution_id: 'ex_raw', network: network(), ttl_ms: 60_000 });
      const opened = await ask(nc, 'open', open);
      expect(opened.network).toBe(networkName);
      expect(opened.proxy.port).toBeGreaterThan(0);
      expect(opened.env.HTTP_PROXY).toMatch(
        new RegExp(
          `^http://ex_raw:[A-Za-z0-9_-]+@${opened.proxy.host.replaceAll('.', '\\.')}:${opened.proxy.port}$`,
        ),
      );
      expect(await ask(nc, 'open', open)).toEqual({
        error: {
          code: 'invalid_request',
          message: 'egress run ex_raw is already open',
          field: 'execution_id',
        },
      });
      expect(await ask(nc, 'close', JSON.stringify({ execution_id: 'ex_raw' }))).toEqual({
        records: [],
        omitted: 0,
      });
      expect(await ask(nc, 'info', '')).toEqual({ network: networkName, proxy: opened.proxy });
      expect(proxy.child.exitCode).toBeNull();
    },
    SLOW,
  );
});
