// Splits the arrival row's jobs by whether they ran beside the engine's work for the pool: a job whose span
// (arrival to reply) saw a container creation or removal in flight at some tick, against one that saw none.
// With the two on one machine, the difference between the groups is what that overlap costs. The series is
// sampled (every 100 ms), so a call shorter than a tick can be missed: "none" means none seen. Reads only.

import type { EngineCallsTick } from './arrival.ts';
import { percentile } from './stats.ts';

/** A job's span (performance.now() ms) and, when known, its run phase (ms inside the container). */
export interface JobSpan {
  scheduled: number;
  ended: number;
  run: number | undefined;
}

export interface OverlapGroup {
  count: number;
  p50: number;
  p99: number;
  /** Median of the run phase over the group's jobs that have one. */
  runP50: number;
}

/** The most calls in flight over [from, to], counting the last tick before `from` (the state at the start). */
export function callsDuring(series: readonly EngineCallsTick[], from: number, to: number): number {
  let most = 0;
  let before: EngineCallsTick | undefined;
  for (const tick of series) {
    if (tick.at < from) before = tick;
    else if (tick.at <= to) most = Math.max(most, tick.count);
    else break;
  }
  return Math.max(most, before?.count ?? 0);
}

/** The jobs that saw no call in flight (`alone`) and those that saw one or more (`beside`). */
export function splitByOverlap(
  jobs: readonly JobSpan[],
  series: readonly EngineCallsTick[],
): { alone: OverlapGroup; beside: OverlapGroup } {
  const alone: JobSpan[] = [];
  const beside: JobSpan[] = [];
  for (const job of jobs) (callsDuring(series, job.scheduled, job.ended) > 0 ? beside : alone).push(job);
  return { alone: group(alone), beside: group(beside) };
}

/** One line: latency and run phase of each group. */
export function describeOverlap(split: { alone: OverlapGroup; beside: OverlapGroup }): string {
  const show = (g: OverlapGroup) =>
    g.count === 0
      ? 'n=0'
      : `n=${g.count} p50 ${g.p50.toFixed(0)} ms, p99 ${g.p99.toFixed(0)} ms, run p50 ${g.runP50.toFixed(0)} ms`;
  return (
    `beside the engine (a pool creation or removal in flight during the job, 100 ms ticks): ` +
    `${show(split.beside)}; alone: ${show(split.alone)}`
  );
}

function group(jobs: readonly JobSpan[]): OverlapGroup {
  const totals = jobs.map((job) => job.ended - job.scheduled).sort((a, b) => a - b);
  const runs = jobs
    .map((job) => job.run)
    .filter((run): run is number => run !== undefined)
    .sort((a, b) => a - b);
  return {
    count: jobs.length,
    p50: percentile(totals, 50),
    p99: percentile(totals, 99),
    runP50: percentile(runs, 50),
  };
}
