// The wall clock inside the sandbox: the runner ends its job at the job's own deadline (meta/wall_ms + 1 s) even
// when nothing outside is left to do it. The real service runs as its own process (`node
// services/gateway/src/main.ts`); long jobs on runc and runsc — a sleep and a CPU spin loop with a short
// wall_time_ms and a CPU budget far above it — are started, the service is killed with SIGKILL, and dockerd is
// watched (dockerode, by the dead service's `airlock.owner` label) until none of its containers runs any more.
// The bound is a correctness bound (limit + margin + a generous allowance for a loaded machine), not a speed
// assertion. dockerd is shared: another Airlock starting meanwhile removes a dead owner's containers (its
// reaper), so each job container's end is read from dockerd's events: its runner's exit 3, or a kill from
// outside. (shared/sandbox/src/container/runner-deadline.test.ts shows the runner's exit 3 with no one else
// involved.) Whatever the dead service left is removed afterwards, whatever happened.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapLeftovers } from '@airlock/sandbox';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputSeen } from './support/containers.ts';
import { call } from './support/service.ts';

const MAIN = join(import.meta.dirname, '..', 'services', 'gateway', 'src', 'main.ts');
// Short, so the runners act before another Airlock's reaper is likely to; if the service's own timer is first
// (a slow start), that end is a kill from outside too.
const WALL_MS = 4000;
/** The runner's own margin past the limit (runner/supervise.h WALL_MARGIN_MS). */
const RUNNER_MARGIN_MS = 1000;
/** Room for a loaded 2-core machine: dockerd and runsc taking their time to tear a container down. */
const ALLOWANCE_MS = 45_000;

const docker = new Dockerode();
let dir = '';
let child: ChildProcess | undefined;
let owner = '';
let url = '';

async function listening(service: ChildProcess, output: () => string): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const match = /"address":"(http:\/\/[^"]+)"/.exec(output());
    if (match) return match[1]!;
    if (service.exitCode !== null) throw new Error(`the service exited: ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the service did not start: ${output()}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-deadline-'));
  const service = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      AIRLOCK_PORT: '0',
      AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
      AIRLOCK_SKIP_SETUP: '1',
      AIRLOCK_BACKENDS: 'isolate,docker,gvisor',
      AIRLOCK_POOL_SIZE: '1',
      AIRLOCK_CONCURRENCY: '4',
      AIRLOCK_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = service;
  let out = '';
  service.stdout!.on('data', (d) => (out += d));
  service.stderr!.on('data', (d) => (out += d));
  owner = `${hostname()}:${service.pid}`;
  url = await listening(service, () => out);
  const runtimes = await call(url, 'GET', '/v1/runtimes');
  const available = runtimes.body.runtimes.filter((r: { available: boolean }) => r.available);
  expect(new Set(available.map((r: { backend: string }) => r.backend))).toEqual(
    new Set(['isolate', 'docker', 'gvisor']),
  );
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // The owner is dead: the reaper takes everything it left.
  if (owner) await reapLeftovers(docker, { labels: [`airlock.owner=${owner}`] });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

/** Follows dockerd's kill and die events of the service's containers from now on. */
async function containerEnds() {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['kill', 'die'], label: [`airlock.owner=${owner}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const events: Array<{ action: string; id: string; exitCode?: string }> = [];
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const event = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      events.push({ action: event.Action, id: event.Actor.ID, exitCode: event.Actor.Attributes?.exitCode });
    }
  });
  return {
    causeOf(id: string): string {
      const mine = events.filter((e) => e.id === id);
      const die = mine.findIndex((e) => e.action === 'die');
      if (die < 0) return 'still alive';
      if (mine.slice(0, die).some((e) => e.action === 'kill')) return 'killed from outside';
      return mine[die]!.exitCode === '3' ? 'runner deadline (exit 3)' : `exit ${mine[die]!.exitCode}`;
    },
    stop: () => stream.destroy(),
  };
}

const running = async () =>
  docker.listContainers({ filters: { label: [`airlock=1`, `airlock.owner=${owner}`] } });

describe('the wall clock inside the sandbox', () => {
  it('after kill -9 of the service, its long jobs and warm containers stop within the limit + margin', async () => {
    const jobs = (['docker', 'gvisor'] as const).flatMap((backend) => [
      { backend, language: 'bash', code: 'echo started\nsleep 600\necho never' },
      { backend, language: 'python', code: 'print("started")\nwhile True:\n    pass' },
    ]);
    const submitted = await Promise.all(
      jobs.map((job) =>
        call(url, 'POST', '/v1/executions', {
          ...job,
          // Not the pooled memory profile: a cold container, labelled with its execution.
          limits: { wall_time_ms: WALL_MS, cpu_time_ms: 60_000, memory_mb: 96 },
        }),
      ),
    );
    expect(submitted.map((s) => s.status)).toEqual([201, 201, 201, 201]);
    const ids: string[] = submitted.map((s) => s.body.id);
    await Promise.all(ids.map((id) => outputSeen(url, id, 'started')));
    const before = await running();
    for (const id of ids) {
      expect(
        before.filter((c) => c.Labels['airlock.execution'] === id),
        id,
      ).toHaveLength(1);
    }
    // Warm containers of the pooled profile are waiting too.
    expect(before.some((c) => c.Labels['airlock.execution'] === undefined)).toBe(true);

    const ends = await containerEnds();
    const killedAt = performance.now();
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const bound = WALL_MS + RUNNER_MARGIN_MS + ALLOWANCE_MS;
    let left = await running();
    while (left.length > 0 && performance.now() - killedAt < bound) {
      await new Promise((r) => setTimeout(r, 250));
      left = await running();
    }
    expect(left.map((c) => `${c.Id.slice(0, 12)} ${c.Labels['airlock.execution'] ?? 'warm'}`)).toEqual([]);

    // Each job container ended by its runner's deadline (exit 3), unless another Airlock's reaper killed it first.
    const causes = ids.map((id) => {
      const container = before.find((c) => c.Labels['airlock.execution'] === id)!;
      return ends.causeOf(container.Id);
    });
    ends.stop();
    for (const cause of causes) expect(['runner deadline (exit 3)', 'killed from outside']).toContain(cause);
  }, 240_000);
});
