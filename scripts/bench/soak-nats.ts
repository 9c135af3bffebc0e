// The NATS soak of `npm run bench -- --only soak-nats`: a NATS-mode gateway and two worker processes on one
// nats-server (JetStream on a temp dir, monitoring on a loopback port), the soak's job mix (soak.ts; the big
// output is 256 KiB here, as a result must fit in one NATS message) through REST at concurrency 8, and at
// a tenth of the run (1,000 of 10,000) and every quarter (2,500): each process's resident memory (plain and
// after a full GC over its inspector) and descriptors, the containers the workers own, nats-server's memory,
// and the messages and bytes of every JetStream stream (the job stream, the event stream, the executions
// bucket, the lifecycle and audit logs). It fails (exit code 1) when a process's memory after a full GC at the
// end is above 1.2x its reading at the first mark, when a stream is not held by its own limits at the end (the
// job stream, a work queue, not empty; another stream's oldest message past its age limit, its bytes or
// messages past their limits, or a stream with no limit holding more messages than before the run), or when
// descriptors and containers do not come back down.
// Stream sizes follow the job rate of the last retention period, so they are judged by their limits, not by
// growth between marks. A failed run names the failed job or reading and any service process that exited.
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
/** How far past its age limit a stream's oldest message may be when read (expiry, the reading's own delay). */
const AGE_SLACK_MS = 15_000;

/** A stream's size, the age of its oldest message and the limits it is configured with, from /jsz. */
interface StreamSize {
  messages: number;
  bytes: number;
  /** Age of the oldest message when read, in ms (0 when empty). */
  oldestMs: number;
  /** 0: no limit. */
  maxAgeMs: number;
  maxBytes: number;
  maxMessages: number;
  workQueue: boolean;
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
  // Every stream must be held by its own limits, whatever the job rate: a work queue (jobs, webhooks) empty,
  // each other stream's oldest message within its age limit, its bytes and messages within their limits; a
  // stream with no limit at all (a bucket of a few fixed keys) must hold no more messages than before the run.
  for (const [name, stream] of Object.entries(end.streams).sort(([a], [b]) => a.localeCompare(b))) {
    const checks: Array<[string, boolean]> = [];
    if (stream.workQueue)
      checks.push([`${stream.messages} messages left (must be 0)`, stream.messages === 0]);
    if (stream.maxAgeMs > 0)
      checks.push([
        `oldest ${seconds(stream.oldestMs)} (max age ${seconds(stream.maxAgeMs)})`,
        stream.oldestMs <= stream.maxAgeMs + AGE_SLACK_MS,
      ]);
    if (stream.maxBytes > 0)
      checks.push([
        `${soak.mib(stream.bytes)} (max ${soak.mib(stream.maxBytes)})`,
        stream.bytes <= stream.maxBytes,
      ]);
    if (stream.maxMessages > 0)
      checks.push([`max ${stream.maxMessages} msgs`, stream.messages <= stream.maxMessages]);
    if (checks.length === 0) {
      const before = start.streams[name]?.messages ?? 0;
      checks.push([`no limit: ${before} msgs before the run (must not grow)`, stream.messages <= before]);
    }
    const held = checks.every(([, ok]) => ok);
    met &&= held;
    print(
      `${name}: ${stream.messages} msgs ${soak.mib(stream.bytes)}; ${checks.map(([text]) => text).join(', ')}: ` +
        `${held ? 'bounded' : 'NOT bounded'}`,
    );
  }
  met &&= back;
  print(
    `descriptors and containers: ${back ? 'back to their start values' : 'NOT back to their start values'} ` +
      `(containers ${start.containers} → ${end.containers})`,
  );
  return met;
}

/** Each stream's size, oldest message and limits, from nats-server's monitoring endpoint on loopback. */
async function streamSizes(monitorPort: number): Promise<Record<string, StreamSize>> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/jsz?streams=true&config=true`);
  const jsz = (await response.json()) as {
    now?: string;
    account_details?: Array<{
      stream_detail?: Array<{
        name: string;
        config?: { retention?: string; max_age?: number; max_bytes?: number; max_msgs?: number };
        state: { messages: number; bytes: number; first_ts?: string };
      }>;
    }>;
  };
  const now = jsz.now ? Date.parse(jsz.now) : Date.now();
  const sizes: Record<string, StreamSize> = {};
  for (const account of jsz.account_details ?? [])
    for (const { name, config, state } of account.stream_detail ?? [])
      sizes[name] = {
        messages: state.messages,
        bytes: state.bytes,
        oldestMs: state.messages > 0 && state.first_ts ? Math.max(0, now - Date.parse(state.first_ts)) : 0,
        maxAgeMs: Math.max(0, (config?.max_age ?? 0) / 1e6),
        maxBytes: Math.max(0, config?.max_bytes ?? 0),
        maxMessages: Math.max(0, config?.max_msgs ?? 0),
        workQueue: config?.retention === 'workqueue',
      };
  return sizes;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

function line(r: Reading): string {
  const processes = r.processes
    .map((p) => `${p.name} ${soak.mib(p.rss)} (GC ${soak.mib(p.rssAfterGc)}, ${p.fds} fds)`)
    .join('; ');
  const streams = Object.keys(r.streams)
    .sort()
    .map((s) => `${s} ${r.streams[s]!.messages} msgs ${soak.mib(r.streams[s]!.bytes)}`)
    .join('; ');
  return (
    `${String(r.jobs).padStart(6)} jobs ${r.seconds.toFixed(0).padStart(5)} s | ${processes} | ` +
    `nats-server ${soak.mib(r.natsRss)} | ${streams} | containers ${r.containers}`
  );
}
