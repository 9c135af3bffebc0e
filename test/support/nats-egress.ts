// Helpers shared by the egress-on-NATS test files (the worker's own proxy and the standalone proxy): the
// egress network a process logged, a guest fetch and a python urllib run against the loopback upstream with
// the outcome both files expect, and the checks after SIGTERM that the processes left nothing behind.

import { hostname } from 'node:os';
import type { Upstream } from '@airlock/egress-proxy/testing';
import { expect } from 'vitest';
import { containersLabelled } from './containers.ts';
import { egressSummary, expectEgressNetworkGone, finishedRecord } from './egress.ts';
import type { AirlockProcess } from './nats-cluster.ts';
import { call } from './service.ts';

/** The egress network `started` logged; fails with its output when it started none. */
export function loggedEgressNetwork(started: AirlockProcess, who: string): string {
  const match = /"network":"(airlock-egress-[0-9a-f]+)"/.exec(started.output());
  if (!match?.[1]) {
    throw new Error(
      `${who} started no egress network (needs dockerd, iptables and nsenter):\n${started.output()}`,
    );
  }
  return match[1];
}

/** Egress through the proxy to `upstream.test` on the upstream's port. */
export const upstreamNetwork = (upstream: Upstream) => ({
  egress: 'proxy',
  allow: [{ host: 'upstream.test', ports: [upstream.port] }],
});

/** Submits an execution to the gateway at `url` and waits for it (30 s wall time unless `body` says). */
export const submitExecution = (url: string, body: Record<string, unknown>) =>
  call(url, 'POST', '/v1/executions?wait=180', { limits: { wall_time_ms: 30_000 }, ...body });

/**
 * A javascript guest fetch (isolate) reaches `upstream.test` at `path`; `other.test` is refused; both are in
 * result.egress and in the worker's finished audit record.
 */
export async function expectJavascriptFetchThroughProxy(
  gatewayUrl: string,
  worker: AirlockProcess,
  upstream: Upstream,
  path: string,
): Promise<void> {
  const before = upstream.requests.length;
  const up = upstream.port;
  const response = await submitExecution(gatewayUrl, {
    language: 'javascript',
    code: `
          const ok = await fetch('http://upstream.test:${up}${path}');
          console.log('allowed', ok.status, (await ok.json()).url);
          const no = await fetch('http://other.test:${up}/');
          console.log('denied', no.status, (await no.json()).error.code);
        `,
    network: upstreamNetwork(upstream),
  });
  expect(response.status).toBe(201);
  expect(response.body).toMatchObject({ status: 'finished', backend: 'isolate' });
  expect(response.body.result).toMatchObject({
    outcome: 'success',
    stdout: `allowed 200 ${path}\ndenied 403 egress_denied\n`,
    stderr: '',
  });
  expect(egressSummary(response.body.result.egress)).toEqual([
    ['GET', 'http', 'upstream.test', up, path, 'allowed', 200],
    ['GET', 'http', 'other.test', up, '/', 'denied', 403],
  ]);
  expect(response.body.result.egress[0]).toMatchObject({
    execution_id: response.body.id,
    address: '127.0.0.1',
  });
  expect(upstream.requests.length).toBe(before + 1);
  await expectFinishedDecisions(worker, response.body.id);
}

/**
 * A python urllib run in a runc container reaches `upstream.test`; `other.test` is refused; both are in
 * result.egress. Returns the response.
 */
export async function expectPythonUrllibThroughProxy(gatewayUrl: string, upstream: Upstream): Promise<any> {
  const before = upstream.requests.length;
  const up = upstream.port;
  const response = await submitExecution(gatewayUrl, {
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
    network: upstreamNetwork(upstream),
  });
  expect(response.status).toBe(201);
  expect(response.body).toMatchObject({ status: 'finished', backend: 'docker' });
  expect(response.body.result).toMatchObject({
    outcome: 'success',
    stdout: 'allowed 200 /py\ndenied 403 egress_denied\n',
  });
  expect(egressSummary(response.body.result.egress)).toEqual([
    ['GET', 'http', 'upstream.test', up, '/py', 'allowed', 200],
    ['GET', 'http', 'other.test', up, '/', 'denied', 403],
  ]);
  expect(upstream.requests.length).toBe(before + 1);
  return response.body;
}

/** The worker's finished record of execution `id` lists one allowed and one denied egress decision. */
export async function expectFinishedDecisions(worker: AirlockProcess, id: string): Promise<void> {
  const finished = await finishedRecord(() => worker.audit(), id);
  expect(finished.detail.egress.map((r: any) => r.decision)).toEqual(['allowed', 'denied']);
}

/** Stops each process still running with SIGTERM; each exits with 0. */
export async function stopWithSigterm(processes: Array<AirlockProcess | undefined>): Promise<void> {
  for (const started of processes) {
    if (started && started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    }
  }
}

/** After the processes stopped: no egress network, firewall rule or container of theirs is left. */
export async function expectNothingLeft(
  networkName: string,
  processes: Array<AirlockProcess | undefined>,
): Promise<void> {
  if (networkName) await expectEgressNetworkGone(networkName);
  for (const started of processes) {
    if (started?.child.pid) {
      expect(containersLabelled(`airlock.owner=${hostname()}:${started.child.pid}`)).toEqual([]);
    }
  }
}
