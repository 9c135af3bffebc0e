// Where a REST execution's time goes, from the stamps its record already carries (created_at, started_at,
// finished_at, usage.wall_ms) and the bench's own arrival and reply times: admit (scheduled arrival → record
// created: driver lag, HTTP, validation), queue (→ started: waiting for a worker slot), lease (→ finished,
// less the run: waiting for a warm container, packing the job, judging the end), run (usage.wall_ms: the job
// written into the container until its end) and reply (finished → the bench has the response). The service
// runs embedded in the bench's process, so both sides read one clock; record stamps are whole milliseconds.
// Reads only.

import { percentile } from './stats.ts';

/** An execution record's stamps, as the REST response gives them. */
export interface ExecutionStamps {
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result?: { usage?: { wall_ms?: number } } | null;
}

/** One job: its record's stamps and the bench's own times, all epoch ms. */
export interface JobTimes {
  scheduled: number;
  received: number;
  execution: ExecutionStamps;
}

export const PHASES = ['admit', 'queue', 'lease', 'run', 'reply'] as const;
export type Phase = (typeof PHASES)[number];
export type Phases = Record<Phase, number> & { total: number };

/** The phases of one job, ms; undefined when the record lacks a stamp (it never ran). */
export function phasesOf(job: JobTimes): Phases | undefined {
  const { execution } = job;
  const run = execution.result?.usage?.wall_ms;
  if (execution.started_at === null || execution.finished_at === null || run === undefined) return undefined;
  const created = Date.parse(execution.created_at);
  const started = Date.parse(execution.started_at);
  const finished = Date.parse(execution.finished_at);
  return {
    admit: created - job.scheduled,
    queue: started - created,
    lease: finished - started - run,
    run,
    reply: job.received - finished,
    total: job.received - job.scheduled,
  };
}

export interface TailBreakdown {
  jobs: number;
  /** Each phase's median over every job. */
  median: Phases;
  /** The slowest 1% by total (at least one job): how many, and each phase's mean over them. */
  slowest: { count: number; minTotal: number; mean: Phases };
}

/** The median of each phase against the slowest 1%'s mean; undefined without a job that ran. */
export function tailBreakdown(jobs: readonly JobTimes[]): TailBreakdown | undefined {
  const all = jobs.map(phasesOf).filter((p): p is Phases => p !== undefined);
  if (all.length === 0) return undefined;
  const keys = [...PHASES, 'total'] as const;
  const sortedOf = (key: Phase | 'total') => all.map((p) => p[key]).sort((a, b) => a - b);
  const median = Object.fromEntries(keys.map((key) => [key, percentile(sortedOf(key), 50)])) as Phases;
  const byTotal = [...all].sort((a, b) => b.total - a.total);
  const count = Math.max(1, Math.ceil(all.length / 100));
  const tail = byTotal.slice(0, count);
  const mean = Object.fromEntries(
    keys.map((key) => [key, tail.reduce((sum, p) => sum + p[key], 0) / count]),
  ) as Phases;
  return { jobs: all.length, median, slowest: { count, minTotal: tail[count - 1]!.total, mean } };
}

/** One line: each phase's median → the slowest 1%'s mean. */
export function describeTail(tail: TailBreakdown | undefined): string {
  if (tail === undefined) return 'phases: no job with a complete record';
  const { median, slowest } = tail;
  const parts = [...PHASES, 'total' as const].map(
    (key) => `${key} ${median[key].toFixed(0)} → ${slowest.mean[key].toFixed(0)}`,
  );
  return (
    `phases (ms), median of ${tail.jobs} jobs → mean of the slowest 1% (${slowest.count} jobs, ` +
    `≥ ${slowest.minTotal.toFixed(0)} ms): ${parts.join(', ')}`
  );
}
