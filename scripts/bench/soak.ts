// The soak part of `npm run bench -- --only soak`: the embedded service as its own process with its default
// settings (retention, store bound, concurrency, pools), 10,000 mixed jobs through REST at concurrency 8 —
// JavaScript hello (90%), JavaScript with 1 MiB of distinct output (5%), python on runc (5%) — and, at 1,000
// and every 2,500 jobs, its resident memory (as the OS sees it, and after a full GC asked for over its
// inspector), open file descriptors, containers it owns and the store's bytes on disk. It fails (exit code 1)
// when resident memory after a full GC after the last job is above 1.2x the reading after 1,000, or when
// descriptors or containers do not come back down to their values before the run (the pools refilled, no
// socket or container left over). Every process, container and file it made is gone afterwards.

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containersOwnedBy, openFds, rssAfterGc, rssBytes } from '@airlock/testing';
import { folderBytes } from './service-probe.ts';
import * as soak from './soak-drive.ts';

const GATEWAY = fileURLToPath(new URL('../../services/gateway/src/main.ts', import.meta.url));

interface Reading {
  jobs: number;
  rss: number;
  rssAfterGc: number;
  fds: number;
  containers: number;
  storeBytes: number;
  seconds: number;
}

export async function runSoak(options: soak.SoakOptions): Promise<boolean> {
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
    const { start, readings } = await soak
      .driveJobs({
        warmUpJobs: soak.WARM_UP_JOBS,
        jobs: options.jobs,
        clients: soak.CLIENTS,
        run: (n) => soak.postJob(url, n, soak.MIB, signal),
        read,
        intro: [
          `soak — ${new Date().toISOString()} — ${options.jobs} jobs (javascript 90%, javascript with 1 MiB output 5%, ` +
            `python on runc 5%) through REST at concurrency ${soak.CLIENTS}, default settings`,
          header(),
        ],
        line,
        print,
      })
      .catch(async (error: unknown) => {
        for (const text of await soak.exits([started])) print(text);
        throw error;
      });
    const back = await soak.settle(
      () => openFds(pid) <= start.fds && containersOwnedBy(pid).length <= start.containers,
      soak.SETTLE_MS,
    );
    const end = await read(options.jobs);
    const first = readings[0]!;
    const last = readings.at(-1)!;
    // The bound is on memory after a full GC: what the process keeps. Plain RSS is printed too; it also moves
    // with how far V8 lets its heap grow between collections, which follows the allocation rate.
    const growth = last.rssAfterGc / first.rssAfterGc;
    const grew = growth > soak.GROWTH_LIMIT;
    print(
      `RSS after a full GC, after ${last.jobs} / after ${first.jobs}: ${growth.toFixed(2)}x ` +
        `(limit ${soak.GROWTH_LIMIT}x: ${grew ? 'NOT met' : 'met'}); plain RSS ${(last.rss / first.rss).toFixed(2)}x, ` +
        `from ${soak.mib(Math.min(...readings.map((r) => r.rss)))} to ${soak.mib(Math.max(...readings.map((r) => r.rss)))}`,
    );
    print(
      `after the run: fds ${start.fds} → ${end.fds}, containers ${start.containers} → ${end.containers} ` +
        `(${back ? 'back to their start values' : 'NOT back to their start values'}); store ${soak.mib(end.storeBytes)} on disk`,
    );
    return !grew && back;
  } finally {
    if (child) await soak.stopChild(child);
    await rm(dir, { recursive: true, force: true });
  }
}

function startService(dir: string, dataDir: string, signal: AbortSignal) {
  const env = {
    PATH: process.env.PATH ?? '',
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
    AIRLOCK_DATA_DIR: dataDir,
    AIRLOCK_BACKENDS: 'isolate,docker',
    AIRLOCK_MAX_QUEUED: '100000',
  };
  return soak.startInspected('the service', GATEWAY, env, /"address":"(http:\/\/[^"]+)"/, signal);
}

function header(): string {
  return `${'jobs'.padStart(6)} ${'RSS'.padStart(11)} ${'after GC'.padStart(11)} ${'fds'.padStart(5)} ${'containers'.padStart(10)} ${'store'.padStart(11)} ${'elapsed'.padStart(9)}`;
}

function line(r: Reading): string {
  return `${String(r.jobs).padStart(6)} ${soak.mib(r.rss).padStart(11)} ${soak.mib(r.rssAfterGc).padStart(11)} ${String(r.fds).padStart(5)} ${String(r.containers).padStart(10)} ${soak.mib(r.storeBytes).padStart(11)} ${`${r.seconds.toFixed(0)} s`.padStart(9)}`;
}
