// What the two soaks (soak.ts on the embedded service, soak-nats.ts through NATS) do alike: start a service
// process with its inspector open, post job `n` of the mix and check its answer, warm up, drive the jobs at a
// fixed concurrency and take a reading at each mark, and wait for the numbers to come back down. A soak only
// says which processes to start, what a reading holds and how it is judged.

import { type ChildProcess, spawn } from 'node:child_process';

export const MIB = 1024 * 1024;
/**
 * Both soaks: clients in flight, jobs run one by one first, the bound on memory growth after a full GC, and how
 * long the run's end may take to give back descriptors and containers (pools refill, sockets idle out).
 */
export const CLIENTS = 8;
export const WARM_UP_JOBS = 40;
export const GROWTH_LIMIT = 1.2;
export const SETTLE_MS = 60_000;

export interface SoakOptions {
  jobs: number;
  signal: AbortSignal;
  print: (line: string) => void;
}
const INSPECTOR = /Debugger listening on (ws:\/\/\S+)/;

export const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

export function quarters(jobs: number): number[] {
  return [1, 2, 3, 4].map((q) => Math.round((jobs * q) / 4));
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

/** Posts job `n` to the gateway at `url` and waits for it; throws unless it succeeded with the right stdout. */
export async function postJob(url: string, n: number, bigOutput: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const { body, stdout } = job(n, bigOutput);
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

/**
 * The soak itself: jobs `0..warmUpJobs-1` one by one, 5 s to settle, a start reading; prints `intro` and the
 * start reading; then `jobs` jobs (numbered on from the warm-up) with `clients` in flight, taking a reading
 * (in order, one at a time) and printing it when the count done reaches a tenth of the run and each quarter.
 */
export async function driveJobs<R>(options: {
  warmUpJobs: number;
  jobs: number;
  clients: number;
  run: (n: number) => Promise<void>;
  read: (done: number) => Promise<R>;
  intro: string[];
  line: (reading: R) => string;
  print: (line: string) => void;
}): Promise<{ start: R; readings: R[] }> {
  const { warmUpJobs, jobs, run, read, line, print } = options;
  for (let n = 0; n < warmUpJobs; n++) await run(n);
  await settle(() => true, 5_000);
  const start = await read(0);
  for (const text of [...options.intro, line(start)]) print(text);
  const marks = new Set([Math.round(jobs / 10), ...quarters(jobs)]);
  const readings: R[] = [];
  let sampling = Promise.resolve();
  /** Readings are taken one at a time, in the order of their marks. */
  const sample = (at: number) => {
    sampling = sampling.then(async () => {
      const reading = await read(at);
      readings.push(reading);
      print(line(reading));
    });
  };
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < jobs) {
      await run(warmUpJobs + next++);
      done++;
      if (marks.has(done)) sample(done);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, lane));
  await sampling;
  return { start, readings };
}

/**
 * Starts `node --inspect <main>` with `env` and waits until its output matches `ready` (group 1 is answered
 * as `url`) and names its inspector; kills it if it exits first or `signal` aborts.
 */
export async function startInspected(
  name: string,
  main: string,
  env: Record<string, string>,
  ready: RegExp,
  signal: AbortSignal,
): Promise<{ name: string; child: ChildProcess; url: string; inspector: string }> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', main], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (;;) {
      signal.throwIfAborted();
      const url = ready.exec(out)?.[1];
      const inspector = INSPECTOR.exec(out)?.[1];
      if (url && inspector) return { name, child, url, inspector };
      if (child.exitCode !== null) throw new Error(`${name} exited:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Ends `child` with SIGTERM and waits for it, unless it has already gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
