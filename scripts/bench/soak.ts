// The soak part of `npm run bench -- --only soak`: the embedded service as its own process with its default
// settings (retention, store bound, concurrency, pools), 10,000 mixed jobs through REST at concurrency 8 —
// JavaScript hello (90%), JavaScript with 1 MiB of distinct output (5%), python on runc (5%) — and, at 1,000
// and every 2,500 jobs, its resident memory (as the OS sees it, and after a full GC asked for over its
// inspector), open file descriptors, containers it owns and the store's bytes on disk. It fails (exit code 1)
// when resident memory after a full GC after the last job is above 1.2x the reading after 1,000, or when
// descriptors or containers do not come back down to their values before the run (the pools refilled, no
// socket or container left over). Every process, container and file it made is gone afterwards.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containersOwnedBy, openFds, rssAfterGc, rssBytes } from '@airlock/testing';
import { folderBytes } from './service-probe.ts';

export interface SoakOptions {
  jobs: number;
  signal: AbortSignal;
  print: (line: string) => void;
}

const GATEWAY = fileURLToPath(new URL('../../services/gateway/src/main.ts', import.meta.url));
const CLIENTS = 8;
const MIB = 1024 * 1024;
const GROWTH_LIMIT = 1.2;
const WARM_UP_JOBS = 40;
/** How long the run's end may take to give back descriptors and containers (pools refill, sockets idle out). */
const SETTLE_MS = 60_000;

interface Reading {
  jobs: number;
  rss: number;
  rssAfterGc: number;
  fds: number;
  containers: number;
  storeBytes: number;
  seconds: number;
}

/** The request of job `n` and the stdout it must answer with; one in 20 prints `bigOutput` bytes. */
export function job(
  n: number,
  bigOutput = MIB,
): { body: Record<string, unknown>; stdout: (text: string) => boolean } {
  if (n % 20 === 0) {
    const body = { language: 'python', backend: 'docker', code: 'import sys\nprint("hello", sys.argv[1])' };
    return { body: { ...body, args: [String(n)] }, stdout: (text) => text === `hello ${n}\n` };
  }
  if (n % 20 === 10) {
    const code = `console.log(airlock.args[0].padEnd(${bigOutput - 1}, '.'))`;
    return {
      body: { language: 'javascript', code, args: [`job ${n}`], limits: { output_bytes: 2 * bigOutput } },
      stdout: (text) => text.length === bigOutput && text.startsWith(`job ${n}.`),
    };
  }
  const body = { language: 'javascript', code: 'console.log("hello", airlock.args[0])', args: [String(n)] };
  return { body, stdout: (text) => text === `hello ${n}\n` };
}

export async function runSoak(options: SoakOptions): Promise<boolean> {
  const { print, signal } = options;
  const dir = await mkdtemp(join(tmpdir(), 'airlock-bench-soak-'));
  const dataDir = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    const started = await startService(dir, dataDir, signal);
    child = started.child;
    const { url, inspector } = started;
    const pid = child.pid!;
    const began = performance.now();
    const read = async (jobs: number): Promise<Reading> => ({
      jobs,
      rss: rssBytes(pid),
      rssAfterGc: await rssAfterGc(pid, inspector),
      fds: openFds(pid),
      containers: containersOwnedBy(pid).length,
      storeBytes: folderBytes(dataDir),
      seconds: (performance.now() - began) / 1000,
    });
    const run = async (n: number) => {
      signal.throwIfAborted();
      const { body, stdout } = job(n);
      const response = await fetch(`${url}/v1/executions?wait=60`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const execution = (await response.json()) as { result?: { outcome?: string; stdout?: string } };
      if (
        response.status !== 201 ||
        execution.result?.outcome !== 'success' ||
        !stdout(execution.result.stdout ?? '')
      )
        throw new Error(`job ${n}: ${response.status} ${JSON.stringify(execution).slice(0, 300)}`);
    };
    for (let n = 0; n < WARM_UP_JOBS; n++) await run(n);
    await settle(() => true, 5_000);
    const start = await read(0);
    print(
      `soak — ${new Date().toISOString()} — ${options.jobs} jobs (javascript 90%, javascript with 1 MiB output 5%, ` +
        `python on runc 5%) through REST at concurrency ${CLIENTS}, default settings`,
    );
    print(header());
    print(line(start));
    const marks = new Set([Math.round(options.jobs / 10), ...quarters(options.jobs)]);
    const readings: Reading[] = [];
    let next = 0;
    let done = 0;
    let sampling = Promise.resolve();
    const lane = async () => {
      while (next < options.jobs) {
        const n = WARM_UP_JOBS + next++;
        await run(n);
        done++;
        if (marks.has(done)) {
          const at = done;
          sampling = sampling.then(async () => {
            const reading = await read(at);
            readings.push(reading);
            print(line(reading));
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, lane));
    await sampling;
    const back = await settle(
      () => openFds(pid) <= start.fds && containersOwnedBy(pid).length <= start.containers,
      SETTLE_MS,
    );
    const end = await read(options.jobs);
    const first = readings[0]!;
    const last = readings.at(-1)!;
    // The bound is on memory after a full GC: what the process keeps. Plain RSS is printed too; it also moves
    // with how far V8 lets its heap grow between collections, which follows the allocation rate.
    const growth = last.rssAfterGc / first.rssAfterGc;
    const grew = growth > GROWTH_LIMIT;
    print(
      `RSS after a full GC, after ${last.jobs} / after ${first.jobs}: ${growth.toFixed(2)}x ` +
        `(limit ${GROWTH_LIMIT}x: ${grew ? 'NOT met' : 'met'}); plain RSS ${(last.rss / first.rss).toFixed(2)}x, ` +
        `from ${mib(Math.min(...readings.map((r) => r.rss)))} to ${mib(Math.max(...readings.map((r) => r.rss)))}`,
    );
    print(
      `after the run: fds ${start.fds} → ${end.fds}, containers ${start.containers} → ${end.containers} ` +
        `(${back ? 'back to their start values' : 'NOT back to their start values'}); store ${mib(end.storeBytes)} on disk`,
    );
    return !grew && back;
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function startService(dir: string, dataDir: string, signal: AbortSignal) {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', GATEWAY], {
    env: {
      PATH: process.env.PATH ?? '',
      AIRLOCK_PORT: '0',
      AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
      AIRLOCK_DATA_DIR: dataDir,
      AIRLOCK_BACKENDS: 'isolate,docker',
      AIRLOCK_MAX_QUEUED: '100000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (;;) {
      signal.throwIfAborted();
      const url = /"address":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1];
      if (url && inspector) return { child, url, inspector };
      if (child.exitCode !== null) throw new Error(`the service exited:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Waits until `done()` holds, checking every 500 ms, for at most `ms`; answers whether it held. */
export async function settle(done: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (done()) return true;
    if (performance.now() > until) return false;
  }
}

export function quarters(jobs: number): number[] {
  return [1, 2, 3, 4].map((q) => Math.round((jobs * q) / 4));
}

export const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

function header(): string {
  return `${'jobs'.padStart(6)} ${'RSS'.padStart(11)} ${'after GC'.padStart(11)} ${'fds'.padStart(5)} ${'containers'.padStart(10)} ${'store'.padStart(11)} ${'elapsed'.padStart(9)}`;
}

function line(r: Reading): string {
  return `${String(r.jobs).padStart(6)} ${mib(r.rss).padStart(11)} ${mib(r.rssAfterGc).padStart(11)} ${String(r.fds).padStart(5)} ${String(r.containers).padStart(10)} ${mib(r.storeBytes).padStart(11)} ${`${r.seconds.toFixed(0)} s`.padStart(9)}`;
}
