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
/** How much of a process's output is kept for the report of a failed run. */
const OUTPUT_KEPT = 16 * 1024;

/** A service process the soak started, with its inspector. */
export interface InspectedProcess {
  name: string;
  child: ChildProcess;
  url: string;
  inspector: string;
  /** The end of what it wrote to stdout and stderr. */
  output: () => string;
}

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
  let response: Response;
  let execution: { result?: { outcome?: string; stdout?: string } };
  try {
    response = await fetch(`${url}/v1/executions?wait=60`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    execution = (await response.json()) as typeof execution;
  } catch (error) {
    throw new Error(`job ${n}: POST ${url}/v1/executions: ${causes(error)}`, { cause: error });
  }
  if (
    response.status !== 201 ||
    execution.result?.outcome !== 'success' ||
    !stdout(execution.result.stdout ?? '')
  )
    throw new Error(`job ${n}: ${response.status} ${JSON.stringify(execution).slice(0, 300)}`);
}

/** An error and its causes on one line: `fetch failed ← read ECONNRESET (ECONNRESET)`. */
export function causes(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(
      e instanceof Error ? `${e.message}${typeof code === 'string' ? ` (${code})` : ''}` : String(e),
    );
    if (!(e instanceof Error)) break;
  }
  return parts.join(' ← ');
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
  // The first failure (a job's or a reading's) stops every lane and is what the run throws; a reading's
  // failure is never left as a rejected promise nobody awaits (that would end the bench with no context).
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
  };
  let sampling = Promise.resolve();
  /** Readings are taken one at a time, in the order of their marks. */
  const sample = (at: number) => {
    sampling = sampling.then(async () => {
      if (failure) return;
      try {
        const reading = await read(at);
        readings.push(reading);
        print(line(reading));
      } catch (error) {
        fail(new Error(`the reading at ${at} jobs failed: ${causes(error)}`, { cause: error }));
      }
    });
  };
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < jobs && !failure) {
      try {
        await run(warmUpJobs + next++);
      } catch (error) {
        fail(error);
        return;
      }
      done++;
      if (marks.has(done)) sample(done);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, lane));
  await sampling;
  if (failure) throw failure.error;
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
): Promise<InspectedProcess> {
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', main], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  /** Its output so far, the last OUTPUT_KEPT characters of it once the start is matched. */
  let kept = true;
  const take = (d: Buffer) => {
    out += d.toString();
    if (!kept && out.length > 2 * OUTPUT_KEPT) out = out.slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  try {
    for (;;) {
      signal.throwIfAborted();
      const url = ready.exec(out)?.[1];
      const inspector = INSPECTOR.exec(out)?.[1];
      if (url && inspector) {
        kept = false;
        return { name, child, url, inspector, output: () => out.slice(-OUTPUT_KEPT) };
      }
      if (child.exitCode !== null) throw new Error(`${name} exited:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/**
 * What a failed run prints about its processes, after giving a dying one a second to be seen exiting: each
 * that exited with its code or signal and the end of its output (a crash of the gateway resets the bench's
 * connections, so the bench's own error names only the symptom).
 */
export async function exits(processes: InspectedProcess[]): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const lines: string[] = [];
  for (const { name, child, output } of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      lines.push(`${name} (pid ${child.pid}): still running`);
      continue;
    }
    const tail = output().trimEnd().split('\n').slice(-20);
    lines.push(
      `${name} (pid ${child.pid}) exited, ${child.signalCode ?? `code ${child.exitCode}`}; its output ended:`,
    );
    lines.push(...tail.map((text) => `  ${text}`));
  }
  return lines;
}

/** Ends `child` with SIGTERM and waits for it, unless it has already gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
