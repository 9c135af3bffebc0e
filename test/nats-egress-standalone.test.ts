// Egress scaled out on NATS through one standalone proxy per Docker host (AIRLOCK_EGRESS=remote): a
// real nats-server, the standalone proxy process (services/egress-proxy: egress network, firewall, proxy, run
// control on `airlock.egress.<id>.`), a gateway with AIRLOCK_EGRESS=on and a worker with AIRLOCK_EGRESS=remote
// that starts no proxy of its own. A javascript guest fetch (isolate) and a python urllib run (docker = runc,
// joined to the proxy's network) reach an allowed loopback upstream (a test-only allowance; names from a hosts
// table, never DNS), another host is refused, and both leave egress records in result.egress. Bad messages on
// the control subjects get coded errors and the proxy keeps serving. Stopped with SIGTERM, the processes
// leave no network, firewall rule or container behind.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHostsTable } from './support/egress.ts';
import { type AirlockProcess, NatsCluster } from './support/nats-cluster.ts';
import {
  expectJavascriptFetchThroughProxy,
  expectNothingLeft,
  expectPythonUrllibThroughProxy,
  loggedEgressNetwork,
  stopWithSigterm,
  upstreamNetwork,
} from './support/nats-egress.ts';

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
  const hostsFile = await writeHostsTable(dir, ['upstream.test']);
  cluster = await NatsCluster.start({
    env: { AIRLOCK_BACKENDS: 'isolate,docker', AIRLOCK_MAX_WAIT_SECONDS: '180' },
  });
  proxy = await cluster.egressProxy({
    AIRLOCK_EGRESS_PROXY_ID: PROXY_ID,
    AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${upstream.port}`,
    AIRLOCK_EGRESS_HOSTS_FILE: hostsFile,
  });
  networkName = loggedEgressNetwork(proxy, 'the egress proxy');
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
  await stopWithSigterm([worker, proxy]);
  await cluster?.[Symbol.asyncDispose]();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await expectNothingLeft(networkName, [worker, proxy]);
}, SLOW);

const network = () => upstreamNetwork(upstream);

async function ask(nc: NatsConnection, kind: string, payload: string): Promise<any> {
  const reply = await nc.request(`${SUBJECT}.${kind}`, payload, { timeout: 20_000 });
  return reply.json();
}

describe('egress scaled out on NATS through a standalone proxy', () => {
  it(
    'a javascript guest fetch on the remote-egress worker reaches the allowed upstream; another host is refused',
    () => expectJavascriptFetchThroughProxy(gateway.url, worker, upstream, '/standalone?x=1'),
    SLOW,
  );

  it(
    "a python urllib run in a runc container joins the proxy's network and goes through it",
    async () => {
      await expectPythonUrllibThroughProxy(gateway.url, upstream);
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
