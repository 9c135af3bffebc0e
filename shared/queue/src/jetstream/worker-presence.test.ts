// Worker presence against a real nats-server: a heartbeat shows the worker, stop() removes it at once, a
// worker that stops beating (its process died) drops out after its TTL, and entries that are not a worker's
// heartbeat are skipped and reported; a beat asked for is written at once; each worker is listed once however
// often it beats.

import { startNatsServer } from '@airlock/testing';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerHeartbeat, WorkerRoster } from './worker-presence.ts';

let nats: Awaited<ReturnType<typeof startNatsServer>>;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
}, 60_000);
afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await nats?.[Symbol.asyncDispose]();
});

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return nc;
}

const status = (id: string, running = 0) => ({
  id,
  host: 'test-host',
  pid: 4242,
  version: '0.1.0',
  started_at: new Date().toISOString(),
  backends: ['isolate' as const],
  running,
  capacity: 4,
  pools: [],
  templates: [],
  state: 'running' as const,
});

const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
};

describe('worker presence', () => {
  it('answers no worker before any worker opened the bucket', async () => {
    const roster = await WorkerRoster.open({ connection: await connection(), bucket: 'workers-none' });
    expect(await roster.list()).toEqual([]);
  });

  it('lists beating workers, drops a stopped one at once and a silent one after its TTL', async () => {
    const bucket = 'workers-a';
    const reported: string[] = [];
    const roster = await WorkerRoster.open({
      connection: await connection(),
      bucket,
      onError: (_error, key) => reported.push(key),
    });
    const a = await WorkerHeartbeat.open({ connection: await connection(), bucket, ttlMs: 3_000 });
    const silentConnection = await connection();
    const failures: unknown[] = [];
    const b = await WorkerHeartbeat.open({
      connection: silentConnection,
      bucket,
      ttlMs: 1_500,
      onError: (error) => failures.push(error),
    });
    let running = 0;
    await a.start(() => status('w_a', running));
    await b.start(() => status('w_b'));
    const listed = await roster.list();
    expect(listed.map((w) => w.id)).toEqual(['w_a', 'w_b']);
    expect(listed[0]).toMatchObject({ host: 'test-host', capacity: 4, running: 0, ttl_ms: 3_000 });
    expect(Number.isNaN(Date.parse(listed[0]!.last_seen))).toBe(false);

    // A foreign entry and one naming another worker are skipped, and said.
    const kv = await new Kvm(await connection()).open(bucket);
    await kv.put('junk', 'not json');
    await kv.put('w_x', JSON.stringify(status('w_y')));
    expect((await roster.list()).map((w) => w.id)).toEqual(['w_a', 'w_b']);
    expect(reported.sort()).toEqual(['junk', 'w_x']);

    // The next beats carry the worker's figures as they are then.
    running = 3;
    await until(async () => (await roster.list()).find((w) => w.id === 'w_a')?.running === 3);

    // b's process dies: its connection goes without a stop(); after its TTL it is not listed.
    await silentConnection.close();
    await until(async () => !(await roster.list()).some((w) => w.id === 'w_b'));
    expect((await roster.list()).map((w) => w.id)).toEqual(['w_a']);
    // Its stop() cannot reach NATS any more: it reports that and resolves (the TTL did the removal).
    const before = failures.length;
    await b.stop();
    expect(failures.length).toBeGreaterThan(before);

    await a.stop();
    expect(await roster.list()).toEqual([]);
  }, 60_000);

  it('writes a beat at once when asked (a worker that begins to drain says so before its next beat)', async () => {
    const bucket = 'workers-c';
    const nc = await connection();
    // A TTL far longer than the test: only beat() can make the change visible.
    const heartbeat = await WorkerHeartbeat.open({ connection: nc, bucket, ttlMs: 600_000 });
    let state: 'running' | 'draining' = 'running';
    await heartbeat.start(() => ({ ...status('w_d'), state }));
    const listed = await WorkerRoster.open({ connection: nc, bucket });
    expect((await listed.list()).map((w) => [w.id, w.state])).toEqual([['w_d', 'running']]);
    state = 'draining';
    await heartbeat.beat();
    expect((await listed.list()).map((w) => [w.id, w.state])).toEqual([['w_d', 'draining']]);
    await heartbeat.stop();
    expect(await listed.list()).toEqual([]);
    // After stop() a beat writes nothing.
    await heartbeat.beat();
    expect(await listed.list()).toEqual([]);
  });

  it('lists each worker once while the workers beat during the listing', async () => {
    const bucket = 'workers-busy';
    const beaters = await Promise.all(
      ['w_e', 'w_f'].map(async (id) => {
        const heartbeat = await WorkerHeartbeat.open({
          connection: await connection(),
          bucket,
          ttlMs: 600_000,
        });
        await heartbeat.start(() => status(id));
        return heartbeat;
      }),
    );
    const roster = await WorkerRoster.open({ connection: await connection(), bucket });
    // Beats back to back (a draining worker's beat() beside its timer's, many workers), while listing.
    let beating = true;
    const beats = beaters.map(async (heartbeat) => {
      while (beating) await heartbeat.beat();
    });
    const listings: string[][] = [];
    try {
      // (The helper's status stamps started_at at each beat, so the order may change: the ids are sorted.)
      for (let i = 0; i < 200; i++) listings.push((await roster.list()).map((w) => w.id).sort());
    } finally {
      beating = false;
      await Promise.all(beats);
    }
    expect(listings.filter((ids) => ids.join() !== 'w_e,w_f')).toEqual([]);
    await Promise.all(beaters.map((heartbeat) => heartbeat.stop()));
    expect(await roster.list()).toEqual([]);
  }, 60_000);

  it('widens the bucket max age for a worker with a longer TTL, never narrows it', async () => {
    const bucket = 'workers-b';
    const nc = await connection();
    await WorkerHeartbeat.open({ connection: nc, bucket, ttlMs: 1_000 });
    await WorkerHeartbeat.open({ connection: nc, bucket, ttlMs: 5_000 });
    await WorkerHeartbeat.open({ connection: nc, bucket, ttlMs: 2_000 });
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
    expect((await jsm.streams.info(`KV_${bucket}`)).config.max_age).toBe(5_000 * 1_000_000);
  });

  it('refuses a TTL too short to beat', async () => {
    await expect(WorkerHeartbeat.open({ connection: await connection(), ttlMs: 10 })).rejects.toThrow(
      'Expected `ttlMs` to be an integer of at least 300, got `10`',
    );
  });
});
