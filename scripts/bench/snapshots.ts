// The snapshots part of `npm run bench -- --only snapshots` (gVisor): a python session with numpy, pandas and
// matplotlib imported is snapshotted (p50 of the call, which also restores the session in place, and the image
// size); new sessions then start from that snapshot (restore-to-first-cell: POST /v1/sessions with
// from_snapshot, then `x + 1`) against fresh sessions that import the same libraries in their first cell
// (start-to-first-cell), with their ratio; then four forks of one snapshot at once. Those sessions boot
// (AIRLOCK_SESSION_READY_SNAPSHOT off). A second service (on) then starts sessions from the ready-made snapshot
// of the python image's kernel: start-to-first-cell (the same imports, then `x + 1`), interleaved with fresh
// boots on the first service, with their ratio. Numbers compare within one run only. It must never leave a
// container or an image behind: service.close() closes the sessions, and the data directories are removed.

import { readdir, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startBenchService } from './bench-service.ts';
import { percentile } from './stats.ts';

export interface SnapshotBenchOptions {
  /** Samples of each row. */
  samples: number;
  dockerSocket: string;
  signal: AbortSignal;
  print: (line: string) => void;
}

const IMPORTS = 'import numpy as np, pandas as pd, matplotlib\nx = 41';
const LIMITS = { wall_time_ms: 60_000 };

interface Answer {
  id: string;
  size_bytes: number;
  result?: { outcome?: string; value?: Record<string, string> | null };
}

async function call(url: string, method: string, body?: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const answer = (await response.json()) as Answer;
  if (response.status >= 300)
    throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

export async function runSnapshotBench(options: SnapshotBenchOptions): Promise<void> {
  const { print, signal } = options;
  await using bench = await startBenchService('airlock-bench-snapshots-', 'error', (dir) => ({
    AIRLOCK_DATA_DIR: join(dir, 'data'),
    AIRLOCK_BACKENDS: 'gvisor',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_RETENTION_SECONDS: '60',
    AIRLOCK_SESSION_READY_SNAPSHOT: 'off',
  }));
  const { url } = bench;
  const api = (method: string, path: string, body?: unknown) => call(`${url}${path}`, method, body);
  const cell = async (id: string, code: string) => {
    const ran = await api('POST', `/v1/sessions/${id}/executions`, { code, limits: LIMITS });
    if (ran.result?.outcome !== 'success') throw new Error(`cell ${JSON.stringify(ran.result)}`);
    return ran.result;
  };
  /** Opens a session (fresh or from a snapshot), runs its first cell; the ms until its answer. */
  const firstCell = async (from?: string, on = api): Promise<number> => {
    signal.throwIfAborted();
    const started = performance.now();
    const session = await on('POST', '/v1/sessions', {
      language: 'python',
      backend: 'gvisor',
      ...(from === undefined ? {} : { from_snapshot: from }),
    });
    const code = from === undefined ? `${IMPORTS}\nx + 1` : 'x + 1';
    const ran = await on('POST', `/v1/sessions/${session.id}/executions`, { code, limits: LIMITS });
    const elapsed = performance.now() - started;
    if (ran.result?.value?.['text/plain'] !== '42')
      throw new Error(`first cell ${JSON.stringify(ran.result)}`);
    await on('DELETE', `/v1/sessions/${session.id}`);
    return elapsed;
  };
  const p50 = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const line = (name: string, values: number[]) =>
    `${name.padEnd(58)} p50 ${p50(values).toFixed(0).padStart(7)} ms   max ${Math.max(...values)
      .toFixed(0)
      .padStart(7)} ms   n=${values.length}`;

  print(
    `snapshot bench (gvisor) — ${new Date().toISOString()} — load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
  );
  const base = await api('POST', '/v1/sessions', { language: 'python', backend: 'gvisor' });
  await cell(base.id, IMPORTS);
  const taking: number[] = [];
  const sizes: number[] = [];
  let snapshot = '';
  for (let i = 0; i < options.samples; i++) {
    signal.throwIfAborted();
    const started = performance.now();
    const taken = await api('POST', `/v1/sessions/${base.id}/snapshots`);
    taking.push(performance.now() - started);
    sizes.push(taken.size_bytes);
    if (snapshot !== '') await api('DELETE', `/v1/snapshots/${snapshot}`);
    snapshot = taken.id;
  }
  await cell(base.id, 'x + 1'); // the session snapshotted goes on
  print(line('snapshot of a session (numpy, pandas, matplotlib loaded)', taking));
  print(`snapshot size p50 ${(p50(sizes) / 1024 / 1024).toFixed(1)} MiB`);

  const restored: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    restored.push(await firstCell(snapshot));
    fresh.push(await firstCell());
  }
  print(line('restore-to-first-cell (from_snapshot, then x + 1)', restored));
  print(line('fresh start-to-first-cell (imports, then x + 1)', fresh));
  print(`ratio restore / fresh p50: ${(p50(restored) / p50(fresh)).toFixed(2)}x`);

  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, () => firstCell(snapshot)));
  print(
    `four forks of one snapshot at once, until all four answered: ${(performance.now() - started).toFixed(0)} ms`,
  );

  await using ready = await startBenchService('airlock-bench-ready-', 'error', (dir) => ({
    AIRLOCK_DATA_DIR: join(dir, 'data'),
    AIRLOCK_BACKENDS: 'gvisor',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: '0',
    AIRLOCK_RETENTION_SECONDS: '60',
    AIRLOCK_SESSION_READY_SNAPSHOT: 'on',
  }));
  const onReady = (method: string, path: string, body?: unknown) => call(`${ready.url}${path}`, method, body);
  // The first session boots while the ready-made snapshot is made; later ones start from it.
  const making = performance.now();
  await firstCell(undefined, onReady);
  await readyImageMade(join(ready.dir, 'data', 'session-ready'), signal);
  print(`ready-made snapshot of the python kernel made within ${(performance.now() - making).toFixed(0)} ms`);
  const fromReady: number[] = [];
  const booted: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    fromReady.push(await firstCell(undefined, onReady));
    booted.push(await firstCell());
  }
  print(line('ready-snapshot start-to-first-cell (imports, then x + 1)', fromReady));
  print(line('fresh boot start-to-first-cell (imports, then x + 1)', booted));
  print(`ratio ready-snapshot / fresh boot p50: ${(p50(fromReady) / p50(booted)).toFixed(2)}x`);
  print(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end`,
  );
}

/** Resolves once a ready-made kernel image is in `root` (its meta.json written last). */
async function readyImageMade(root: string, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    signal.throwIfAborted();
    const names = await readdir(root).catch(() => [] as string[]);
    for (const name of names.filter((n) => !n.startsWith('.'))) {
      if (await stat(join(root, name, 'meta.json')).catch(() => null)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no ready-made snapshot in ${root} after 300 s`);
}
