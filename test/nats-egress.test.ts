// Egress scaled out on NATS: a real nats-server, a worker process with
// AIRLOCK_EGRESS=on that runs its own egress network, firewall and proxy next to its sandboxes, and a gateway
// with AIRLOCK_EGRESS=on that accepts egress requests for it. A javascript guest fetch (isolate) and a python
// urllib run (docker = runc) reach an allowed loopback upstream through the worker's proxy (a test-only
// allowance; names from a hosts table, never DNS), a disallowed host is refused, and both leave egress records
// in result.egress and in the worker's audit. A gateway without AIRLOCK_EGRESS still refuses egress, and a
// credential no binding exists for is refused at submission. The worker, stopped with SIGTERM, leaves no
// network, firewall rule or container behind.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCredential, writeHostsTable } from './support/egress.ts';
import { type AirlockProcess, NatsCluster } from './support/nats-cluster.ts';
import {
  expectFinishedDecisions,
  expectJavascriptFetchThroughProxy,
  expectNothingLeft,
  expectPythonUrllibThroughProxy,
  loggedEgressNetwork,
  stopWithSigterm,
  submitExecution as submit,
  upstreamNetwork,
} from './support/nats-egress.ts';

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
  const egress = {
    AIRLOCK_EGRESS: 'on',
    AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${upstream.port}`,
    AIRLOCK_EGRESS_HOSTS_FILE: await writeHostsTable(dir, ['upstream.test']),
    AIRLOCK_EGRESS_CREDENTIALS_FILE: await writeCredential(dir, {
      name: 'api',
      hosts: ['upstream.test'],
      secret: 'token',
      value: 'not-a-real-token',
    }),
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
  networkName = loggedEgressNetwork(worker, 'the worker');
  if (!/"egress":"[\d.]+:\d+ on airlock-egress-/.test(worker.output())) {
    throw new Error(`the worker's ready line does not name its proxy:\n${worker.output()}`);
  }
}, SLOW);

afterAll(async () => {
  await stopWithSigterm([worker]);
  await cluster?.[Symbol.asyncDispose]();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await expectNothingLeft(networkName, [worker]);
}, SLOW);

const network = () => upstreamNetwork(upstream);

describe('egress scaled out on NATS', () => {
  it(
    'a javascript guest fetch on the worker reaches the allowed upstream; another host is refused',
    () => expectJavascriptFetchThroughProxy(gateway.url, worker, upstream, '/nats?x=1'),
    SLOW,
  );

  it(
    'a python urllib run in a runc container on the worker goes through the same proxy',
    async () => {
      const execution = await expectPythonUrllibThroughProxy(gateway.url, upstream);
      await expectFinishedDecisions(worker, execution.id);
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
