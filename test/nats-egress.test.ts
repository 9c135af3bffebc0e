// Egress scaled out on NATS (issue #4 in the deployment of issue #6): a real nats-server, a worker process with
// AIRLOCK_EGRESS=on that runs its own egress network, firewall and proxy next to its sandboxes, and a gateway
// with AIRLOCK_EGRESS=on that accepts egress requests for it. A javascript guest fetch (isolate) and a python
// urllib run (docker = runc) reach an allowed loopback upstream through the worker's proxy (a test-only
// allowance; names from a hosts table, never DNS), a disallowed host is refused, and both leave egress records
// in result.egress and in the worker's audit. A gateway without AIRLOCK_EGRESS still refuses egress, and a
// credential no binding exists for is refused at submission. The worker, stopped with SIGTERM, leaves no
// network, firewall rule or container behind.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import { egressFirewallRules } from '@airlock/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersLabelled } from './support/containers.ts';
import { type AirlockProcess, NatsCluster, rest, until } from './support/nats-cluster.ts';

const SLOW = 240_000;

let cluster: NatsCluster;
let dir: string;
let upstream: Upstream;
let gateway: AirlockProcess;
let plainGateway: AirlockProcess;
let worker: AirlockProcess;
let networkName = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-nats-egress-'));
  upstream = await startHttpUpstream('127.0.0.1');
  await writeFile(join(dir, 'hosts.json'), JSON.stringify({ 'upstream.test': ['127.0.0.1'] }));
  await writeFile(
    join(dir, 'credentials.json'),
    JSON.stringify({
      credentials: {
        api: { hosts: ['upstream.test'], header: 'Authorization', format: 'Bearer {value}', secret: 'token' },
      },
    }),
  );
  await writeFile(join(dir, 'token'), 'not-a-real-token', { mode: 0o600 });
  const egress = {
    AIRLOCK_EGRESS: 'on',
    AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${upstream.port}`,
    AIRLOCK_EGRESS_HOSTS_FILE: join(dir, 'hosts.json'),
    AIRLOCK_EGRESS_CREDENTIALS_FILE: join(dir, 'credentials.json'),
    AIRLOCK_SECRETS_DIR: dir,
  };
  cluster = await NatsCluster.start({
    env: { AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_MAX_WAIT_SECONDS: '180' },
  });
  [gateway, plainGateway, worker] = await Promise.all([
    cluster.gateway(egress),
    cluster.gateway({ AIRLOCK_EGRESS: 'off' }),
    cluster.worker({ ...egress, AIRLOCK_POOL_SIZE: '0' }),
  ]);
  const match = /"network":"(airlock-egress-[0-9a-f]+)"/.exec(worker.output());
  if (!match?.[1]) {
    throw new Error(
      `the worker started no egress network (needs dockerd, iptables and nsenter):\n${worker.output()}`,
    );
  }
  networkName = match[1];
  if (!/"egress":"[\d.]+:\d+ on airlock-egress-/.test(worker.output())) {
    throw new Error(`the worker's ready line does not name its proxy:\n${worker.output()}`);
  }
}, SLOW);

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
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
  if (worker?.child.pid) {
    expect(containersLabelled(`airlock.owner=${hostname()}:${worker.child.pid}`)).toEqual([]);
  }
}, SLOW);

const network = () => ({ egress: 'proxy', allow: [{ host: 'upstream.test', ports: [upstream.port] }] });

const submit = (url: string, body: Record<string, unknown>) =>
  rest(url, 'POST', '/v1/executions?wait=180', { limits: { wall_time_ms: 30_000 }, ...body });

async function finishedRecord(id: string): Promise<Record<string, any>> {
  let record: Record<string, any> | undefined;
  await until(async () => {
    record = (await worker.audit()).find((r) => r.type === 'finished' && r.execution_id === id);
    return record !== undefined;
  }, 100);
  return record as Record<string, any>;
}

const summary = (records: any[]) =>
  records.map((r) => [r.method, r.scheme, r.host, r.port, r.path, r.decision, r.status]);

describe('egress scaled out on NATS', () => {
  it(
    'a javascript guest fetch on the worker reaches the allowed upstream; another host is refused',
    async () => {
      const before = upstream.requests.length;
      const up = upstream.port;
      const response = await submit(gateway.url, {
        language: 'javascript',
        code: `
          const ok = await fetch('http://upstream.test:${up}/nats?x=1');
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
        stdout: 'allowed 200 /nats?x=1\ndenied 403 egress_denied\n',
        stderr: '',
      });
      expect(summary(response.body.result.egress)).toEqual([
        ['GET', 'http', 'upstream.test', up, '/nats?x=1', 'allowed', 200],
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
    'a python urllib run in a runc container on the worker goes through the same proxy',
    async () => {
      const before = upstream.requests.length;
      const up = upstream.port;
      const response = await submit(gateway.url, {
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
      const finished = await finishedRecord(response.body.id);
      expect(finished.detail.egress.map((r: any) => r.decision)).toEqual(['allowed', 'denied']);
    },
    SLOW,
  );

  it(
    'refuses at submission a credential no binding exists for, naming the field',
    async () => {
      const response = await submit(gateway.url, {
        language: 'javascript',
        code: 'console.log(1)',
        network: { ...network(), credentials: ['api', 'nope'] },
      });
      expect(response.status).toBe(422);
      expect(response.body.error).toEqual({
        code: 'egress_unavailable',
        message: "credential 'nope' has no binding on this server",
        field: 'network.credentials[1]',
      });
      const rejected = (await gateway.audit()).filter((r) => r.type === 'rejected');
      expect(rejected.at(-1)).toMatchObject({
        reason: "credential 'nope' has no binding on this server",
        detail: { decision: 'refused', code: 'egress_unavailable', field: 'network.credentials[1]' },
      });
    },
    SLOW,
  );

  it(
    'a gateway without AIRLOCK_EGRESS refuses egress requests',
    async () => {
      const response = await submit(plainGateway.url, {
        language: 'javascript',
        code: 'console.log(1)',
        network: network(),
      });
      expect(response.status).toBe(422);
      expect(response.body.error).toEqual({
        code: 'egress_unavailable',
        message: "network egress is not available for backend 'isolate' on this server",
        field: 'network.egress',
      });
    },
    SLOW,
  );
});
