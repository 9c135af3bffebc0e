// Sustained arrival for the container bench: jobs arrive as a Poisson process (exponential gaps) at a given
// rate for a given time, open loop — an arrival never waits for an earlier job to end — while the warm pool's
// series (the numbers /metrics shows as airlock_warm_pool_*) are sampled, so a missed target says what bounds
// it. Latency counts from each arrival's scheduled time (a late start of the driver counts against the run,
// not out of it). Each settled job is kept with its arrival and end times and what its task returned, so the
// caller can break the slowest ones down, and so is the count of Docker calls in flight for the pool (its
// creations, the sandbox's pending removals) at every tick, so the caller can tell the jobs that ran beside
// them from those that did not. Invariant: every arrival has settled before the result is returned (no job
// left running).

import { setTimeout as sleep } from 'node:timers/promises';
import type { WarmPoolStats } from '@airlock/sandbox';
import { type Sample, summarize } from './stats.ts';

export interface ArrivalOptions<T> {
  /** Mean arrivals per second. */
  rate: number;
  seconds: number;
  /** One job; throws when it failed. */
  task: () => Promise<T>;
  /** The pool whose series are traced while the jobs arrive (read every POOL_TICK_MS). */
  pool: () => { stats: WarmPoolStats | undefined; removalsPending: number };
  signal: AbortSignal;
  /** Uniform in [0, 1). @default Math.random */
  random?: () => number;
}

/** The pool's series over the run. */
export interface PoolTrace {
  ticks: number;
  /** Ticks that found no warm container ready. */
  emptyTicks: number;
  readyMean: number;
  creatingMean: number;
  targetMin: number;
  targetMax: number;
  removalsPendingMax: number;
  /** At the end of the run (moving averages; null before measured). */
  last: WarmPoolStats | undefined;
}

/** A job that succeeded: its scheduled arrival and its end (performance.now() ms) and its task's value. */
export interface ArrivedJob<T> {
  scheduled: number;
  ended: number;
  value: T;
}

/** At `at` (performance.now() ms), `count` creations and removals were in flight for the pool. */
export interface EngineCallsTick {
  at: number;
  count: number;
}

export interface ArrivalResult<T> {
  sample: Sample;
  jobs: ArrivedJob<T>[];
  /** One entry per POOL_TICK_MS. */
  engineCalls: EngineCallsTick[];
  arrivals: number;
  failures: string[];
  /** Longest lag of the driver behind an arrival's scheduled time, ms. */
  driverLagMaxMs: number;
  pool: PoolTrace;
}

const POOL_TICK_MS = 100;

export async function poissonArrivals<T>(options: ArrivalOptions<T>): Promise<ArrivalResult<T>> {
  const random = options.random ?? Math.random;
  const jobs: ArrivedJob<T>[] = [];
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const trace = new PoolTracer(options.pool);
  const started = performance.now();
  const end = started + options.seconds * 1000;
  let at = started;
  let arrivals = 0;
  let driverLagMaxMs = 0;
  const ticker = setInterval(() => trace.tick(), POOL_TICK_MS);
  try {
    while (!options.signal.aborted) {
      // Exponential gap with mean 1/rate: 1 - random() is in (0, 1], so the log is finite.
      at += (-Math.log(1 - random()) / options.rate) * 1000;
      if (at >= end) break;
      const wait = at - performance.now();
      if (wait > 0) await sleep(wait);
      driverLagMaxMs = Math.max(driverLagMaxMs, performance.now() - at);
      arrivals += 1;
      const scheduled = at;
      const job: Promise<void> = options
        .task()
        .then(
          (value) => void jobs.push({ scheduled, ended: performance.now(), value }),
          (error: unknown) =>
            void failures.push(error instanceof Error ? error.message.slice(0, 160) : String(error)),
        )
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(ticker);
    await Promise.allSettled(inFlight);
  }
  options.signal.throwIfAborted();
  const latencies = jobs.map((job) => job.ended - job.scheduled);
  const sample = summarize(latencies, (performance.now() - started) / 1000);
  const engineCalls = trace.engineCalls;
  return { sample, jobs, engineCalls, arrivals, failures, driverLagMaxMs, pool: trace.result() };
}

class PoolTracer {
  readonly engineCalls: EngineCallsTick[] = [];
  readonly #read: ArrivalOptions<unknown>['pool'];
  readonly #trace: PoolTrace = {
    ticks: 0,
    emptyTicks: 0,
    readyMean: 0,
    creatingMean: 0,
    targetMin: Number.POSITIVE_INFINITY,
    targetMax: 0,
    removalsPendingMax: 0,
    last: undefined,
  };
  #ready = 0;
  #creating = 0;

  constructor(read: ArrivalOptions<unknown>['pool']) {
    this.#read = read;
  }

  tick(): void {
    const { stats, removalsPending } = this.#read();
    const t = this.#trace;
    t.removalsPendingMax = Math.max(t.removalsPendingMax, removalsPending);
    this.engineCalls.push({ at: performance.now(), count: removalsPending + (stats?.creating ?? 0) });
    if (stats === undefined) return;
    t.ticks += 1;
    if (stats.ready === 0) t.emptyTicks += 1;
    this.#ready += stats.ready;
    this.#creating += stats.creating;
    t.targetMin = Math.min(t.targetMin, stats.size);
    t.targetMax = Math.max(t.targetMax, stats.size);
  }

  result(): PoolTrace {
    const t = this.#trace;
    const last = this.#read().stats;
    return {
      ...t,
      readyMean: t.ticks > 0 ? this.#ready / t.ticks : 0,
      creatingMean: t.ticks > 0 ? this.#creating / t.ticks : 0,
      targetMin: t.ticks > 0 ? t.targetMin : 0,
      last,
    };
  }
}

/** One line on the pool's series during the run: what a missed target is bounded by. */
export function describeTrace(trace: PoolTrace): string {
  const empty = trace.ticks > 0 ? (100 * trace.emptyTicks) / trace.ticks : 0;
  const last = trace.last;
  const msOf = (value: number | null | undefined) => (value == null ? '—' : `${value.toFixed(0)} ms`);
  return (
    `pool: target ${trace.targetMin}–${trace.targetMax}, ready mean ${trace.readyMean.toFixed(1)} ` +
    `(empty ${empty.toFixed(0)}% of the time), creating mean ${trace.creatingMean.toFixed(1)}, ` +
    `removals pending max ${trace.removalsPendingMax}; refill ${msOf(last?.refillMs)}, ` +
    `cold ${msOf(last?.coldMs)}, teardown ${msOf(last?.teardownMs)}, ` +
    `lease rate ${(last?.leaseRate ?? 0).toFixed(2)}/s`
  );
}
