// A worker as the operator sees it: what each worker process announces about itself (its heartbeat) and what
// GET /v1/workers answers. The worker writes it; gateways read it back and check it with these schemas, so a
// malformed or foreign entry is skipped, never shown.

import { z } from 'zod';
import { BackendName } from './request.ts';
import { Template } from './template.ts';

/** One warm pool of a worker: the containers it keeps started for one image × runtime × memory profile. */
export const WorkerPool = z.object({
  backend: BackendName,
  /** The pool's key: image, runtime and memory profile. */
  key: z.string(),
  /** The number of containers it refills to. */
  target: z.number().int().nonnegative(),
  /** Containers started and waiting for a job. */
  ready: z.number().int().nonnegative(),
  /** Jobs served by a warm container. */
  hits: z.number().int().nonnegative(),
  /** Jobs that found the pool empty (the cold path). */
  misses: z.number().int().nonnegative(),
});

/**
 * One template a worker has, as GET /v1/templates shows it in the embedded mode: its languages, packages, size,
 * hash, and whether it can run it now (the reason when not). NATS gateways list the union of these, each checked
 * against Template first. Read leniently, so that one odd template never hides its worker from GET /v1/workers:
 * any name, and a worker older than these fields announces only name, state and reason (the rest default).
 */
export const WorkerTemplate = Template.omit({ workers: true }).extend({
  name: z.string(),
  description: Template.shape.description.default(null),
  languages: Template.shape.languages.default([]),
  packages: Template.shape.packages.default({}),
  size_bytes: Template.shape.size_bytes.default(null),
  hash: Template.shape.hash.default(null),
  builtin: Template.shape.builtin.default(false),
});

/** Upper bounds (seconds) of the execution-duration histogram buckets, the gateway's and the workers' alike. */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

/** Finished executions a worker ran, counted by backend, language and outcome since it started. */
export const WorkerRunCount = z.object({
  backend: z.string(),
  language: z.string(),
  outcome: z.string(),
  count: z.number().int().nonnegative(),
});

/** One phase's durations on one backend since the worker started: a cumulative histogram. */
export const WorkerDurations = z.object({
  backend: z.string(),
  phase: z.enum(['queued', 'running', 'total']),
  /** Executions at or under each bound of DURATION_BUCKETS_SECONDS, in that order (cumulative). */
  buckets: z.array(z.number().int().nonnegative()).length(DURATION_BUCKETS_SECONDS.length),
  /** Every execution observed (the `+Inf` bucket). */
  count: z.number().int().nonnegative(),
  /** Seconds summed over them. */
  sum: z.number().nonnegative(),
});

/** The runs a worker finished, for the console's charts on NATS (gateways sum the fleet's heartbeats). */
export const WorkerRunStats = z.object({
  runs: z.array(WorkerRunCount),
  durations: z.array(WorkerDurations),
});

/** What a worker announces in each heartbeat. */
export const WorkerStatus = z.object({
  /** The worker's id: the `runner` recorded in the executions it runs. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  /** Its host name. */
  host: z.string(),
  pid: z.number().int().positive(),
  version: z.string(),
  /** When the worker started (ISO 8601). */
  started_at: z.string(),
  /** The backends it runs jobs on (available ones only). */
  backends: z.array(BackendName),
  /** Executions it runs now. */
  running: z.number().int().nonnegative(),
  /** Executions it runs at once at most (AIRLOCK_CONCURRENCY). */
  capacity: z.number().int().positive(),
  pools: z.array(WorkerPool),
  templates: z.array(WorkerTemplate),
  /**
   * `running` takes jobs; `draining` stopped taking them (SIGTERM) and finishes the ones it runs before it
   * leaves the list.
   */
  state: z.enum(['running', 'draining']).default('running'),
  /** Its finished runs since it started (NATS workers; absent in the embedded mode, whose gateway counts). */
  stats: WorkerRunStats.optional(),
  /** Milliseconds after its last heartbeat that the worker counts as gone (AIRLOCK_WORKER_TTL_MS). */
  ttl_ms: z.number().int().positive(),
});

/** A worker in GET /v1/workers: its last heartbeat and when it arrived. */
export const Worker = WorkerStatus.extend({
  /** When its last heartbeat arrived (ISO 8601; the NATS server's clock). */
  last_seen: z.string(),
});

export type WorkerPool = z.infer<typeof WorkerPool>;
export type WorkerTemplate = z.infer<typeof WorkerTemplate>;
export type WorkerRunStats = z.infer<typeof WorkerRunStats>;
export type WorkerStatus = z.infer<typeof WorkerStatus>;
export type Worker = z.infer<typeof Worker>;
