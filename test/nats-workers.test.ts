// Workers seen over NATS (GET /v1/workers), as an operator sees them: two real worker processes on a real
// nats-server appear with their host, backends, capacity and running jobs; a worker killed with SIGKILL (it
// cannot say goodbye) drops out once its TTL has passed since its last heartbeat; a worker stopped with SIGTERM
// removes itself at once.

import { hostname } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AirlockProcess, NatsCluster, until } from './support/nats-cluster.ts';
import { call, submitWaiting } from './support/service.ts';

const TTL_MS = 3_000;
let cluster: NatsCluster;
let gateway: AirlockProcess;
let workers: AirlockProcess[];

beforeAll(async () => {
  cluster = await NatsCluster.start({ env: { AIRLOCK_WORKER_TTL_MS: String(TTL_MS) } });
  [gateway, ...workers] = await Promise.all([
    cluster.gateway(),
    cluster.worker({ AIRLOCK_CONCURRENCY: '2' }),
    cluster.worker({ AIRLOCK_CONCURRENCY: '3' }),
  ]);
}, 180_000);

afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
}, 60_000);

async function listWorkers(): Promise<any[]> {
  const response = await call(gateway.url, 'GET', '/v1/workers');
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return response.body.workers;
}

const pids = (list: any[]) => list.map((w) => w.pid).sort();

describe('GET /v1/workers on NATS', () => {
  it('lists both workers with what they run, and counts a running job', async () => {
    const [first, second] = workers as [AirlockProcess, AirlockProcess];
    const listed = await listWorkers();
    expect(pids(listed)).toEqual([first.child.pid, second.child.pid].sort());
    for (const worker of listed) {
      expect(worker).toMatchObject({
        host: hostname(),
        version: '0.1.0',
        backends: ['isolate'],
        running: 0,
        ttl_ms: TTL_MS,
        pools: [],
      });
      expect(worker.id).toMatch(/^q_[0-9a-f]{16}$/);
      expect(Date.parse(worker.last_seen)).toBeGreaterThanOrEqual(Date.parse(worker.started_at));
    }
    expect(listed.map((w) => w.capacity).sort()).toEqual([2, 3]);

    // A job that waits: the worker running it says so in its next heartbeat; its id is the run's runner.
    const submitted = await submitWaiting(gateway.url);
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    await until(async () => (await listWorkers()).some((w) => w.running === 1), 200);
    const busy = (await listWorkers()).find((w) => w.running === 1);
    expect(busy).toBeDefined();
    expect((await call(gateway.url, 'DELETE', `/v1/executions/${id}`)).status).toBe(200);
    await until(async () => (await listWorkers()).every((w) => w.running === 0), 200);
  }, 120_000);

  it('drops a worker killed with SIGKILL after its TTL, and one stopped cleanly at once', async () => {
    const [killed, stopped] = workers as [AirlockProcess, AirlockProcess];
    const killedId = (await listWorkers()).find((w) => w.pid === killed.child.pid)?.id;
    expect(killedId).toBeDefined();
    process.kill(killed.child.pid!, 'SIGKILL');
    expect(await killed.exited).toBe(null);
    // Its entry outlives it until the TTL has passed since its last heartbeat.
    const diedAt = Date.now();
    await until(async () => !(await listWorkers()).some((w) => w.id === killedId), 200);
    const lastSeen = Date.now() - diedAt;
    expect(pids(await listWorkers())).toEqual([stopped.child.pid]);
    console.log(`SIGKILLed worker left the list ${lastSeen} ms after the kill (TTL ${TTL_MS} ms)`);

    stopped.child.kill('SIGTERM');
    expect(await stopped.exited).toBe(0);
    expect(await listWorkers()).toEqual([]);
  }, 120_000);

  it('refuses a malformed entry written into the bucket: it is skipped, never listed', async () => {
    const nc = await cluster.connect();
    const kv = await new Kvm(nc).open('airlock-workers');
    await kv.put('q_forged', JSON.stringify({ id: 'q_forged', host: '<script>', pid: 'x' }));
    expect(await listWorkers()).toEqual([]);
    await until(() => gateway.output().includes('skipped an entry of the workers bucket'));
  });
});
