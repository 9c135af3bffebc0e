// The compose stack of deploy/compose as a user brings it up (`docker-compose up -d`, the shipped airlock.env
// with this test's ports, upstream and short timings): NATS, two gateways, two workers on the host's Docker
// engine with runc and gVisor, the standalone egress proxy. Jobs through each gateway and over NATS
// request-reply, egress through the proxy, development mode reachable on loopback only, a worker killed
// mid-job, NATS restarted, and `docker-compose down -v` leaving nothing behind. Traffic goes only to loopback,
// to this machine's own addresses (connects that must be refused) and to the stack's own sandboxes.

import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { startHttpUpstream, type Upstream } from '@airlock/egress-proxy/testing';
import { egressFirewallRules } from '@airlock/sandbox';
import { connect as connectNats } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeStack } from './support/compose-stack.ts';
import { until } from './support/nats-cluster.ts';
import { call, run } from './support/service.ts';
import { buildServiceImage, docker, REPO_ROOT } from './support/service-image.ts';

let stack: ComposeStack | undefined;
let upstream: Upstream | undefined;
/** Host pids of the workers and the proxy over the whole run: what their sandboxes and networks are owned by. */
const owners = new Set<number>();
/** Egress networks the proxy logged. */
const egressNetworks = new Set<string>();
const ran: Array<{ id: string; stdout: string }> = [];

/** The shipped deploy/compose/airlock.env as KEY=VALUE pairs. */
function shippedAirlockEnv(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'deploy/compose/airlock.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^AIRLOCK_[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const live = () => {
  if (!stack) throw new Error('the stack did not come up (see beforeAll)');
  return stack;
};

async function noteOwners(): Promise<void> {
  for (const service of ['worker-1', 'worker-2', 'egress-proxy'] as const) {
    const pid = await live().pid(service);
    if (pid > 0) owners.add(pid);
  }
  for (const m of (await live().logs('egress-proxy')).matchAll(/"network":"(airlock-egress-[0-9a-f]+)"/g)) {
    egressNetworks.add(m[1]!);
  }
}

/** `airlock.owner` of the sandbox container running an execution, once there is one. */
async function sandboxOwner(executionId: string): Promise<string> {
  let owner = '';
  await until(async () => {
    const format = '{{.Label "airlock.owner"}}';
    owner = (
      await docker(['ps', '-a', '--filter', `label=airlock.execution=${executionId}`, '--format', format])
    )
      .trim()
      .split('\n')[0]!;
    return owner !== '';
  }, 200);
  return owner;
}

/** The execution once finished, read from `url` (a gateway down or reconnecting is asked again). */
async function finished(url: string, id: string): Promise<any> {
  let execution: any;
  await until(async () => {
    execution = (await call(url, 'GET', `/v1/executions/${id}`).catch(() => undefined))?.body;
    return execution?.status === 'finished';
  }, 250);
  return execution;
}

/** How a connect to this machine's `address:port` ends: `connected` or the error code. */
function connectOutcome(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: address, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

beforeAll(async () => {
  const { tag } = await buildServiceImage();
  upstream = await startHttpUpstream();
  stack = await ComposeStack.create({
    image: tag,
    airlockEnv: {
      ...shippedAirlockEnv(),
      // Cold containers only: every sandbox carries its execution id, and the stack starts with no pools.
      AIRLOCK_POOL_SIZE: '0',
      AIRLOCK_NATS_ACK_WAIT_MS: '5000',
      AIRLOCK_MAX_WAIT_SECONDS: '180',
      AIRLOCK_EGRESS_ALLOWANCES: `127.0.0.1:${upstream.port}`,
      AIRLOCK_EGRESS_HOSTS_FILE: '/etc/airlock/hosts.json',
    },
    config: { 'hosts.json': JSON.stringify({ 'upstream.test': ['127.0.0.1'] }) },
  });
  await stack.compose(['up', '-d']);
  await until(async () => {
    const ready = await Promise.all(
      [1, 2].map((g) =>
        fetch(`${live().url(g as 1 | 2)}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        ),
      ),
    );
    return ready.every(Boolean);
  }, 500);
  await noteOwners();
}, 900_000);

afterAll(async () => {
  try {
    await stack?.[Symbol.asyncDispose]();
  } finally {
    await upstream?.close();
  }
}, 180_000);

describe('the compose stack', () => {
  it('runs python on gVisor through gateway 1, with the memory peak read from the host cgroup', async () => {
    const execution = await run(
      live().url(1),
      { language: 'python', backend: 'gvisor', code: 'import sys\nprint("py", sys.version_info[0])' },
      180,
    );
    expect(execution).toMatchObject({ status: 'finished', language: 'python', backend: 'gvisor' });
    expect(execution.result).toMatchObject({
      outcome: 'success',
      exit_code: 0,
      stdout: 'py 3\n',
      stderr: '',
    });
    expect(execution.result.usage.memory_peak_bytes).toBeGreaterThan(0);
    ran.push({ id: execution.id, stdout: 'py 3\n' });
  }, 240_000);

  it('runs javascript through each gateway, and each gateway reads the other one’s execution', async () => {
    for (const gateway of [1, 2] as const) {
      const execution = await run(live().url(gateway), {
        language: 'javascript',
        code: `console.log('gateway', ${gateway})`,
      });
      expect(execution).toMatchObject({ status: 'finished', backend: 'isolate' });
      expect(execution.result).toMatchObject({ outcome: 'success', stdout: `gateway ${gateway}\n` });
      const other = await call(live().url(gateway === 1 ? 2 : 1), 'GET', `/v1/executions/${execution.id}`);
      expect(other.body).toEqual(execution);
      ran.push({ id: execution.id, stdout: `gateway ${gateway}\n` });
    }
  }, 120_000);

  it('answers a NATS request-reply call on airlock.execute', async () => {
    const nc = await connectNats({ servers: live().natsUrl });
    try {
      const reply = await nc.request(
        'airlock.execute',
        JSON.stringify({ language: 'typescript', code: 'const n: number = 6 * 7; console.log(n)' }),
        { timeout: 120_000 },
      );
      expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('');
      const execution = reply.json<any>();
      expect(execution).toMatchObject({ status: 'finished', language: 'typescript', tenant: 'local' });
      expect(execution.result).toMatchObject({ outcome: 'success', stdout: '42\n' });
      ran.push({ id: execution.id, stdout: '42\n' });
    } finally {
      await nc.close();
    }
  }, 150_000);

  it('takes a runc job out through the standalone egress proxy; the sandbox has no resolver', async () => {
    const before = upstream!.requests.length;
    const code = [
      'import socket, urllib.request',
      `print(urllib.request.urlopen("http://upstream.test:${upstream!.port}/deploy").status)`,
      's = socket.socket(); s.settimeout(3)',
      'try:\n    s.connect(("127.0.0.11", 53)); print("dns open")',
      'except socket.timeout:\n    print("dns timeout")',
    ].join('\n');
    const execution = await run(
      live().url(2),
      {
        language: 'python',
        backend: 'docker',
        code,
        limits: { wall_time_ms: 60_000 },
        network: { egress: 'proxy', allow: [{ host: 'upstream.test', ports: [upstream!.port] }] },
      },
      180,
    );
    expect(execution.result).toMatchObject({ outcome: 'success', stdout: '200\ndns timeout\n', stderr: '' });
    expect(execution.result.egress).toEqual([
      expect.objectContaining({ host: 'upstream.test', path: '/deploy', decision: 'allowed', status: 200 }),
    ]);
    expect(upstream!.requests.slice(before).map((r) => r.url)).toEqual(['/deploy']);
  }, 240_000);

  it('in development mode is reachable on loopback only, not on any other address of this machine', async () => {
    const own = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    expect(own.length).toBeGreaterThan(0); // docker0 at least
    const { gateway1, gateway2, nats } = live().ports;
    for (const port of [gateway1, gateway2, nats]) {
      expect(await connectOutcome('127.0.0.1', port)).toBe('connected');
      for (const address of own) {
        expect(`${address}:${port} ${await connectOutcome(address, port)}`).toBe(
          `${address}:${port} ECONNREFUSED`,
        );
      }
    }
  }, 120_000);

  it('shows every service up in docker-compose ps, gateways and NATS healthy', async () => {
    const ps = await live().compose(['ps']);
    for (const service of ['nats', 'egress-proxy', 'worker-1', 'worker-2', 'gateway-1', 'gateway-2']) {
      expect(ps).toMatch(new RegExp(`${live().project}_${service}_1 .* Up`));
    }
    for (const service of ['nats', 'gateway-1', 'gateway-2', 'egress-proxy'] as const) {
      await until(async () => (await live().state(service)) === 'running healthy', 1_000);
    }
  }, 180_000);

  it('ends a job `worker lost` when its worker container is killed, and reruns one that asked for it', async () => {
    const s = live();
    await s.compose(['stop', 'worker-2']);
    const submit = async (code: string, retry: boolean) => {
      const body = {
        language: 'python',
        backend: 'gvisor',
        code,
        limits: { wall_time_ms: 60_000, memory_mb: 96 },
        ...(retry ? { retry_on_worker_loss: true } : {}),
      };
      const response = await call(s.url(1), 'POST', '/v1/executions', body);
      expect(response.status).toBe(201);
      return response.body.id as string;
    };
    const lost = await submit('import time\ntime.sleep(60)', false);
    const retried = await submit('import time\ntime.sleep(5)\nprint("done")', true);
    const worker1 = await s.pid('worker-1');
    // Both run on worker-1, the only worker left: their sandboxes are its own.
    expect(await sandboxOwner(lost)).toBe(`${s.owner.split(':')[0]}:${worker1}`);
    expect(await sandboxOwner(retried)).toBe(`${s.owner.split(':')[0]}:${worker1}`);
    await docker(['kill', await s.container('worker-1')]);
    await s.compose(['start', 'worker-2']);
    await noteOwners();
    const [first, second] = await Promise.all([lost, retried].map((id) => finished(s.url(2), id)));
    expect(first.result).toMatchObject({ outcome: 'internal_error', reason: 'worker lost' });
    expect(second.result).toMatchObject({ outcome: 'success', stdout: 'done\n' });
    // worker-2's own audit file (on the stack's volume) holds the rerun and the verdict on the lost one. The
    // finished record is appended once the queue has settled the run, so it may land just after the result is
    // readable: read the file until both verdicts are there (the test's timeout bounds the wait).
    let audit: Array<{ execution_id?: string; type: string; outcome?: string }> = [];
    const of = (id: string) =>
      audit.filter((r) => r.execution_id === id).map((r) => [r.type, r.outcome ?? null]);
    await until(async () => {
      audit = (await s.compose(['exec', '-T', 'worker-2', 'cat', '/var/lib/airlock/worker-2.jsonl']))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      return [lost, retried].every((id) => of(id).some(([type]) => type === 'finished'));
    }, 500);
    expect(of(retried)).toEqual([
      ['started', null],
      ['finished', 'success'],
    ]);
    expect(of(lost)).toEqual([['finished', 'internal_error']]);
    await s.compose(['start', 'worker-1']);
    await noteOwners();
  }, 300_000);

  it('loses nothing when NATS restarts: a job running across the restart finishes, earlier ones stay', async () => {
    const s = live();
    const response = await call(s.url(1), 'POST', '/v1/executions', {
      language: 'python',
      backend: 'gvisor',
      code: 'import time\ntime.sleep(3)\nprint("survived")',
      limits: { wall_time_ms: 60_000 },
    });
    expect(response.status).toBe(201);
    const id = response.body.id as string;
    await until(
      async () => (await call(s.url(1), 'GET', `/v1/executions/${id}`)).body.status === 'running',
      200,
    );
    await s.compose(['restart', '-t', '0', 'nats']);
    const survived = await finished(s.url(2), id);
    expect(survived.result).toMatchObject({ outcome: 'success', stdout: 'survived\n' });
    for (const earlier of ran) {
      const read = await call(s.url(2), 'GET', `/v1/executions/${earlier.id}`);
      expect(read.body.result.stdout).toBe(earlier.stdout);
    }
    const after = await run(s.url(2), { language: 'javascript', code: 'console.log("after")' }, 120);
    expect(after.result).toMatchObject({ outcome: 'success', stdout: 'after\n' });
  }, 300_000);

  it('docker-compose down -v leaves no container, network, volume or firewall rule behind', async () => {
    const s = live();
    await noteOwners();
    expect(egressNetworks.size).toBeGreaterThan(0);
    await s.down();
    expect(await s.leftovers()).toEqual([]);
    const host = s.owner.split(':')[0];
    for (const pid of owners) {
      expect(await docker(['ps', '-a', '--filter', `label=airlock.owner=${host}:${pid}`, '-q'])).toBe('');
    }
    for (const network of egressNetworks) {
      expect(await docker(['network', 'ls', '-q', '--filter', `name=^${network}$`])).toBe('');
      expect(await egressFirewallRules(network)).toEqual([]);
    }
  }, 180_000);
});
