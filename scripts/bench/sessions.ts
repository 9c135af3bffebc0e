// The sessions part of `npm run bench` (`--only sessions`): a python cell `x += 1` in a warm session through
// POST /v1/sessions/:id/executions, p50/p99 for runc and runsc, next to a one-shot warm-pool python hello
// through POST /v1/executions?wait measured in the same run, with their ratio. Numbers compare within one run
// only. It must never leave a container behind: service.close() closes the sessions on every path.

import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTAINER_BACKENDS, CONTAINER_RUNTIMES } from '@airlock/sandbox';
import { postJson, startBenchService } from './bench-service.ts';
import { measure, row } from './stats.ts';

export interface SessionBenchOptions {
  /** Cells per runtime (the one-shot rows take a third of it). */
  samples: number;
  dockerSocket: string;
  signal: AbortSignal;
  print: (line: string) => void;
}

interface Answer {
  id?: string;
  result?: { stdout?: string; value?: Record<string, string> | null };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Answer }> {
  const response = await postJson(url, body);
  return { status: response.status, body: (await response.json()) as Answer };
}

export async function runSessionBench(options: SessionBenchOptions): Promise<void> {
  const { print, signal } = options;
  // Disposing it closes the sessions too (closed_reason shutdown) and removes their containers.
  await using bench = await startBenchService('airlock-bench-sessions-', 'error', () => ({
    AIRLOCK_BACKENDS: 'docker,gvisor',
    AIRLOCK_DOCKER_SOCKET: options.dockerSocket,
    AIRLOCK_POOL_SIZE: '1',
    AIRLOCK_RETENTION_SECONDS: '60',
  }));
  const { url } = bench;
  print(
    `session bench — ${new Date().toISOString()} — load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
  );
  for (const backend of CONTAINER_BACKENDS) {
    const created = await post(`${url}/v1/sessions`, { language: 'python', backend });
    if (created.status !== 201) throw new Error(`session on ${backend}: ${JSON.stringify(created.body)}`);
    const id = String(created.body.id);
    await post(`${url}/v1/sessions/${id}/executions`, { code: 'x = 0' });
    let expected = 0;
    const cell = async () => {
      signal.throwIfAborted();
      const ran = await post(`${url}/v1/sessions/${id}/executions`, { code: 'x += 1\nx' });
      expected += 1;
      if (ran.body.result?.value?.['text/plain'] !== String(expected))
        throw new Error(`unexpected cell result ${JSON.stringify(ran.body)}`);
    };
    const oneShot = async () => {
      signal.throwIfAborted();
      // Paced like a caller would be: the warm pool refills between jobs.
      await sleep(300);
      const ran = await post(`${url}/v1/executions?wait=60`, {
        language: 'python',
        backend,
        code: 'print("hello")',
      });
      if (ran.body.result?.stdout !== 'hello\n') throw new Error(`unexpected ${JSON.stringify(ran.body)}`);
    };
    await measure(5, 1, cell);
    await measure(2, 1, oneShot);
    const cells = await measure(options.samples, 1, cell);
    const hello = await measure(Math.max(5, Math.round(options.samples / 3)), 1, oneShot);
    // The pacing sleep is not part of a job's latency.
    const paced = { ...hello, p50: hello.p50 - 300, p99: hello.p99 - 300, mean: hello.mean - 300 };
    print(row(`${CONTAINER_RUNTIMES[backend]}: session cell x += 1 (warm session), c=1`, cells));
    print(row(`${CONTAINER_RUNTIMES[backend]}: one-shot python hello (warm pool), c=1`, paced));
    print(
      `${CONTAINER_RUNTIMES[backend]}: ratio session cell / one-shot p50: ${(cells.p50 / paced.p50).toFixed(2)}x`,
    );
  }
}
