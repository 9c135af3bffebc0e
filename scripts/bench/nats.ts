// The NATS part of `npm run bench` (`--only nats`): JavaScript hello through REST POST ?wait, c=1, against a
// gateway with one NATS worker process versus the embedded service, both as real processes in the same run
// (target: NATS adds <= 2 ms at p50); then throughput at c=8 with 1 and 2 worker processes, for JavaScript and
// for two kinds of python job on runc (target: 2 workers >= 1.5x one worker, with the same AIRLOCK_CONCURRENCY
// each): a hello, whose cost is almost all Docker lifecycle work (create, start, remove) on the host's CPU, and
// a job that waits 400 ms (as one waiting on I/O does), whose slot is busy while the CPU is not. The container
// rows offer c=8, twice the slots of two workers, so no slot waits on the client between jobs in either row:
// the ratio is what a second worker adds to the throughput, on one host whose CPU and dockerd both workers
// share — for the hello the host bounds it, for the waiting job the slots do. nats-server runs on a free
// loopback port with JetStream on a temp dir; every process, dir and container the bench made is removed
// (services get SIGTERM first).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '@airlock/testing';
import { postJson } from './bench-service.ts';
import { stopChild } from './soak-drive.ts';
import { measure, row, type Sample } from './stats.ts';

export interface NatsBenchOptions {
  /** Samples of the latency rows; throughput rows take twice as many. */
  samples: number;
  signal: AbortSignal;
  print: (line: string) => void;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GATEWAY = join(ROOT, 'services', 'gateway', 'src', 'main.ts');
const WORKER = join(ROOT, 'services', 'worker', 'src', 'main.ts');
const HELLO = JSON.stringify({ language: 'javascript', code: 'console.log("hello, world")' });
const PYTHON_HELLO = JSON.stringify({ language: 'python', backend: 'docker', code: 'print("hello, world")' });
/** A container job that waits, not computes: its slot is held for 400 ms while the CPU is free. */
const PYTHON_WAITING = JSON.stringify({
  language: 'python',
  backend: 'docker',
  code: 'import time\ntime.sleep(0.4)\nprint("hello, world")',
});
const TARGET_ADDED_MS = 2;
const TARGET_SCALE = 1.5;
/** Clients of the container rows: twice the slots of two workers (AIRLOCK_CONCURRENCY=2 each). */
const CONTAINER_CLIENTS = 8;
/** How long the service processes get to shut down (and remove their containers) at the end. */
const STOP_GRACE_MS = 30_000;

interface Started {
  child: ChildProcess;
  url: string;
}

export async function runNatsBench(options: NatsBenchOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-nats-'));
  const children: ChildProcess[] = [];
  await using nats = await startNatsServer({ jetstream: true });
  const base = {
    AIRLOCK_LOG_LEVEL: 'info',
    AIRLOCK_BACKENDS: 'isolate',
    AIRLOCK_CONCURRENCY: '2',
    AIRLOCK_ISOLATE_HOSTS: '2',
    AIRLOCK_MAX_QUEUED: '100000',
    AIRLOCK_RETENTION_SECONDS: '600',
    AIRLOCK_NATS_URL: nats.url,
  };
  let count = 0;
  const start = async (main: string, env: Record<string, string>, ready: RegExp): Promise<Started> => {
    count++;
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', ...base, AIRLOCK_AUDIT_LOG: join(dir, `${count}.jsonl`), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    for (;;) {
      options.signal.throwIfAborted();
      const match = ready.exec(out);
      if (match) return { child, url: match[1] ?? '' };
      if (child.exitCode !== null) throw new Error(`${main} exited:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const gateway = (env: Record<string, string>) =>
    start(GATEWAY, { AIRLOCK_PORT: '0', ...env }, /"address":"(http:\/\/[^"]+)"/);
  const worker = (env: Record<string, string> = {}) => start(WORKER, env, /"msg":"airlock worker (ready)"/);
  const stop = (started: Started) => stopChild(started.child);
  const hello =
    (url: string, body = HELLO) =>
    async () => {
      options.signal.throwIfAborted();
      const response = await postJson(`${url}/v1/executions?wait=60`, body);
      const execution = (await response.json()) as { result?: { stdout?: string } };
      if (execution.result?.stdout !== 'hello, world\n')
        throw new Error(`unexpected ${JSON.stringify(execution)}`);
    };
  const n = options.samples;
  try {
    const embedded = await gateway({ AIRLOCK_QUEUE: 'memory' });
    await measure(50, 2, hello(embedded.url));
    const embedded1 = await measure(n, 1, hello(embedded.url));
    const embedded8 = await measure(2 * n, 8, hello(embedded.url));
    await stop(embedded);

    // It declares docker too (the fleet of the container rows); JavaScript still goes to the isolate.
    const scaled = await gateway({ AIRLOCK_QUEUE: 'nats', AIRLOCK_BACKENDS: 'isolate,docker' });
    const first = await worker();
    await measure(50, 2, hello(scaled.url));
    const nats1 = await measure(n, 1, hello(scaled.url));
    const oneWorker8 = await measure(2 * n, 8, hello(scaled.url));
    await worker();
    await measure(50, 8, hello(scaled.url));
    const twoWorkers8 = await measure(2 * n, 8, hello(scaled.url));
    await stop(first);
    await Promise.all(
      children
        .filter((c) => c !== scaled.child && c.exitCode === null && c.signalCode === null)
        .map(stopChild),
    );

    // Container jobs: the workers run python on runc from their warm pools.
    const containers = { AIRLOCK_BACKENDS: 'isolate,docker' };
    const python = hello(scaled.url, PYTHON_HELLO);
    const pythonSamples = Math.max(20, Math.round(n / 4));
    const waiting = hello(scaled.url, PYTHON_WAITING);
    const firstContainerWorker = await worker(containers);
    await measure(10, CONTAINER_CLIENTS, python);
    const oneWorkerPython = await measure(pythonSamples, CONTAINER_CLIENTS, python);
    const oneWorkerWaiting = await measure(pythonSamples, CONTAINER_CLIENTS, waiting);
    await worker(containers);
    await measure(10, CONTAINER_CLIENTS, python);
    const twoWorkersPython = await measure(pythonSamples, CONTAINER_CLIENTS, python);
    const twoWorkersWaiting = await measure(pythonSamples, CONTAINER_CLIENTS, waiting);
    await stop(firstContainerWorker);

    options.print(
      `nats bench — ${new Date().toISOString()} — nats-server ${nats.url}, each worker AIRLOCK_CONCURRENCY=2, load average ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
    options.print(row('embedded REST ?wait js hello, c=1', embedded1));
    options.print(row('NATS, 1 worker REST ?wait js hello, c=1', nats1));
    const added = nats1.p50 - embedded1.p50;
    options.print(
      `added by NATS at p50: ${added.toFixed(2)} ms (${(nats1.p50 / embedded1.p50).toFixed(2)}x; target <= ${TARGET_ADDED_MS} ms: ${added <= TARGET_ADDED_MS ? 'met' : 'NOT met'})`,
    );
    options.print(row('embedded throughput, c=8', embedded8));
    options.print(row('NATS throughput, 1 worker process, c=8', oneWorker8));
    options.print(row('NATS throughput, 2 worker processes, c=8', twoWorkers8));
    options.print(`throughput 2 workers / 1 worker: ${ratio(twoWorkers8, oneWorker8)}x`);
    options.print(row(`NATS py hello runc, 1 worker, c=${CONTAINER_CLIENTS}`, oneWorkerPython));
    options.print(row(`NATS py hello runc, 2 workers, c=${CONTAINER_CLIENTS}`, twoWorkersPython));
    options.print(row(`NATS py waits 400 ms runc, 1 worker, c=${CONTAINER_CLIENTS}`, oneWorkerWaiting));
    options.print(row(`NATS py waits 400 ms runc, 2 workers, c=${CONTAINER_CLIENTS}`, twoWorkersWaiting));
    options.print(
      scaleLine('python hello (host-bound: Docker lifecycle on 2 cores)', twoWorkersPython, oneWorkerPython),
    );
    options.print(scaleLine('python waiting 400 ms (slot-bound)', twoWorkersWaiting, oneWorkerWaiting));
  } finally {
    // SIGTERM, so each worker removes its warm containers (a SIGKILL left them behind); SIGKILL only what
    // has not gone within STOP_GRACE_MS.
    const late = setTimeout(() => {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all(children.map(stopChild));
    clearTimeout(late);
    await rm(dir, { recursive: true, force: true });
  }
}

function scaleLine(what: string, two: Sample, one: Sample): string {
  const scale = two.throughput / one.throughput;
  return `container throughput 2 workers / 1 worker, ${what}: ${scale.toFixed(2)}x (target >= ${TARGET_SCALE}x: ${scale >= TARGET_SCALE ? 'met' : 'NOT met'})`;
}

function ratio(a: Sample, b: Sample): string {
  return (a.throughput / b.throughput).toFixed(2);
}
