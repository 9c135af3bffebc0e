// The NATS soak of `npm run bench -- --only soak-nats`: a NATS-mode gateway and two worker processes on one
// nats-server (JetStream on a temp dir, monitoring on a loopback port), the soak's job mix (soak.ts; the big
// output is 256 KiB here, as a result must fit in one NATS message) through REST at concurrency 8, and at
// 1,000 jobs (a tenth) and every 2,500: each process's resident memory (plain and after a full GC over its
// inspector) and descriptors, the containers the workers own, nats-server's memory, and the messages and bytes
// of the job stream, the event stream and the executions bucket. Retention is 60 s, so the stream and bucket
// must level off once the run is longer than that. It fails (exit code 1) when a process's memory after a full
// GC at the end is above 1.2x its reading at the first mark, when the event stream or the bucket at the end
// is above 1.5x its size at the second mark (judged only when that mark came after a full retention period),
// when jobs are left in the job stream, or when descriptors and containers do not come back down.
// Every process, container and file it made is gone afterwards.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  containersOwnedBy,
  freePort,
  openFds,
  rssAfterGc,
  rssBytes,
  startNatsServer,
} from '@airlock/testing';
import * as soak from './soak-drive.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GATEWAY = join(ROOT, 'services', 'gateway', 'src', 'main.ts');
const WORKER = join(ROOT, 'services', 'worker', 'src', 'main.ts');
const BIG_OUTPUT = 256 * 1024;
const RETENTION_SECONDS = 60;
const STORE_GROWTH_LIMIT = 1.5;
/** The queue's default names (shared/queue jetstream options). */
const JOB_STREAM = 'AIRLOCK_JOBS';
const EVENT_STREAM = 'AIRLOCK_EVENTS';
const BUCKET_STREAM = 'KV_airlock-executions';

interface StreamSize {
  messages: number;
  bytes: number;
}

interface Reading {
  jobs: number;
  seconds: number;
  processes: Array<{ name: string; rss: number; rssAfterGc: number; fds: number }>;
  containers: number;
  natsRss: number;
  streams: Record<string, StreamSize>;
}

export async function runNatsSoak(options: soak.SoakOptions): Promise<boolean> {
  const { print, signal } = options;
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-soak-nats-'));
  const monitorPort = await freePort();
  await using nats = await startNatsServer({ jetstream: true, args: ['-m', String(monitorPort)] });
  const services: soak.InspectedProcess[] = [];
  try {
    const base = {
      PATH: process.env.PATH ?? '',
      AIRLOCK_NATS_URL: nats.url,
      AIRLOCK_QUEUE: 'nats',
      AIRLOCK_BACKENDS: 'isolate,docker',
      AIRLOCK_MAX_QUEUED: '100000',
      AIRLOCK_RETENTION_SECONDS: String(RETENTION_SECONDS),
    };
    const start = (name: string, main: string, env: Record<string, string>, ready: RegExp) =>
      soak.startInspected(
        name,
        main,
        { ...base, AIRLOCK_AUDIT_LOG: join(dir, `${name}.jsonl`), ...env },
        ready,
        signal,
      );
    services.push(await start('gateway', GATEWAY, { AIRLOCK_PORT: '0' }, /"address":"(http:\/\/[^"]+)"/));
    for (const name of ['worker 1', 'worker 2'])
      services.push(await start(name, WORKER, {}, /"msg":"airlock worker (ready)"/));
    const url = services[0]!.url;
    const workers = services.slice(1);
    const began = performance.now();
    const read = async (jobs: number): Promise<Reading> => ({
      jobs,
      seconds: (performance.now() - began) / 1000,
      processes: await Promise.all(
        services.map(async ({ name, child, inspector }) => ({
          name,
          rss: rssBytes(child.pid!),
          rssAfterGc: await rssAfterGc(child.pid!, inspector),
          fds: openFds(child.pid!),
        })),
      ),
      containers: workers.reduce((sum, w) => sum + containersOwnedBy(w.child.pid!).length, 0),
      natsRss: nats.pid === undefined ? 0 : rssBytes(nats.pid),
      streams: await streamSizes(monitorPort),
    });
    const { start: start0, readings } = await soak
      .driveJobs({
        warmUpJobs: soak.WARM_UP_JOBS,
        jobs: options.jobs,
        clients: soak.CLIENTS,
        run: (n) => soak.postJob(url, n, BIG_OUTPUT, signal),
        read,
        intro: [
          `soak through NATS — ${new Date().toISOString()} — ${options.jobs} jobs (javascript 90%, javascript with ` +
            `${BIG_OUTPUT / 1024} KiB output 5%, python on runc 5%) through REST at concurrency ${soak.CLIENTS}, ` +
            `one gateway and two workers, retention ${RETENTION_SECONDS} s`,
        ],
        line,
        print,
      })
      .catch(async (error: unknown) => {
        for (const text of await soak.exits(services)) print(text);
        throw error;
      });
    const backDown = () =>
      services.every((s, i) => openFds(s.child.pid!) <= start0.processes[i]!.fds) &&
      workers.reduce((sum, w) => sum + containersOwnedBy(w.child.pid!).length, 0) <= start0.containers;
    const back = await soak.settle(backDown, soak.SETTLE_MS);
    const end = await read(options.jobs);
    print(`after the run: ${line(end)}`);
    return verdict(readings, start0, end, back, print);
  } finally {
    for (const { child } of services) await soak.stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}

function verdict(
  readings: Reading[],
  start: Reading,
  end: Reading,
  back: boolean,
  print: (line: string) => void,
): boolean {
  const first = readings[0]!;
  const last = readings.at(-1)!;
  let met = true;
  for (const [i, process] of last.processes.entries()) {
    const growth = process.rssAfterGc / first.processes[i]!.rssAfterGc;
    const grew = growth > soak.GROWTH_LIMIT;
    met &&= !grew;
    print(
      `${process.name}: RSS after a full GC, after ${last.jobs} / after ${first.jobs}: ${growth.toFixed(2)}x ` +
        `(limit ${soak.GROWTH_LIMIT}x: ${grew ? 'NOT met' : 'met'}); fds ${start.processes[i]!.fds} → ${end.processes[i]!.fds}`,
    );
  }
  // The second mark is the first one taken a full retention period into the run, if any.
  const second = readings.find((r) => r.seconds >= RETENTION_SECONDS + 10 && r !== last);
  for (const stream of [EVENT_STREAM, BUCKET_STREAM]) {
    const now = last.streams[stream]?.bytes ?? 0;
    if (!second) {
      print(
        `${stream}: ${soak.mib(now)} (not judged: no mark before the last came after ${RETENTION_SECONDS} s)`,
      );
      continue;
    }
    const then = second.streams[stream]?.bytes ?? 0;
    const growth = then === 0 ? 1 : now / then;
    const grew = growth > STORE_GROWTH_LIMIT;
    met &&= !grew;
    print(
      `${stream}: ${soak.mib(now)} after ${last.jobs} / ${soak.mib(then)} after ${second.jobs}: ${growth.toFixed(2)}x ` +
        `(limit ${STORE_GROWTH_LIMIT}x: ${grew ? 'NOT met' : 'met'})`,
    );
  }
  const left = end.streams[JOB_STREAM]?.messages ?? 0;
  met &&= left === 0 && back;
  print(`jobs left in ${JOB_STREAM}: ${left} (must be 0)`);
  print(
    `descriptors and containers: ${back ? 'back to their start values' : 'NOT back to their start values'} ` +
      `(containers ${start.containers} → ${end.containers})`,
  );
  return met;
}

/** Messages and bytes of each stream, from nats-server's monitoring endpoint on loopback. */
async function streamSizes(monitorPort: number): Promise<Record<string, StreamSize>> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/jsz?streams=true`);
  const jsz = (await response.json()) as {
    account_details?: Array<{ stream_detail?: Array<{ name: string; state: StreamSize }> }>;
  };
  const sizes: Record<string, StreamSize> = {};
  for (const account of jsz.account_details ?? [])
    for (const { name, state } of account.stream_detail ?? [])
      sizes[name] = { messages: state.messages, bytes: state.bytes };
  return sizes;
}

function line(r: Reading): string {
  const processes = r.processes
    .map((p) => `${p.name} ${soak.mib(p.rss)} (GC ${soak.mib(p.rssAfterGc)}, ${p.fds} fds)`)
    .join('; ');
  const streams = [JOB_STREAM, EVENT_STREAM, BUCKET_STREAM]
    .map((s) => `${s} ${r.streams[s]?.messages ?? 0} msgs ${soak.mib(r.streams[s]?.bytes ?? 0)}`)
    .join('; ');
  return (
    `${String(r.jobs).padStart(6)} jobs ${r.seconds.toFixed(0).padStart(5)} s | ${processes} | ` +
    `nats-server ${soak.mib(r.natsRss)} | ${streams} | containers ${r.containers}`
  );
}
