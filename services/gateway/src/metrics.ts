// Prometheus metrics of the gateway: queue depth, running executions, outcomes, latencies, whether the audit
// log can be written, and the process's default metrics, all under the one `airlock_` prefix. Every name
// follows the Prometheus conventions (snake_case, base units as suffixes, `_total` on counters only).

import type { Execution } from '@airlock/protocol';
import type { QueueStats } from '@airlock/queue';
import type { WarmPoolStats } from '@airlock/sandbox';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  /** Records one finished execution's outcome and its queue, run and total durations. */
  observeFinished(execution: Execution): void;
  observeRejected(code: string): void;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Default metrics that are gauges named `_total` (a counter's suffix); each is the sum of its labelled sibling. */
const MISNAMED_DEFAULTS = [
  'nodejs_active_resources_total',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
];

export interface MetricsOptions {
  /** Whether the audit log can be written now (`airlock_audit_writable`). */
  auditHealthy?: () => boolean;
  /** Service log lines dropped so far (LogOutput.writeErrors). @default none counted */
  logWriteErrors?: () => number;
  /** Whether the execution store can be written now (`airlock_store_writable`; embedded mode). */
  storeHealthy?: () => boolean;
  /** The warm pools of this process's sandboxes (`airlock_warm_pool_*`). @default none */
  pools?: () => WarmPoolStats[];
}

export function createMetrics(stats: () => QueueStats, options: MetricsOptions = {}): GatewayMetrics {
  const logWriteErrors = options.logWriteErrors ?? (() => 0);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'airlock_' });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`airlock_${name}`);
  const writable = [
    {
      name: 'airlock_audit_writable',
      help: 'Whether the audit log can be written (1) or not (0: every submission is refused with 503 audit_unavailable).',
      healthy: options.auditHealthy,
    },
    {
      name: 'airlock_store_writable',
      help: 'Whether the execution store can be written (1) or not (0: every submission is refused with 503 store_unavailable).',
      healthy: options.storeHealthy,
    },
  ];
  for (const { name, help, healthy } of writable) {
    if (!healthy) continue;
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    });
  }
  new Gauge({
    name: 'airlock_queue_depth',
    help: 'Executions accepted and waiting for a worker.',
    registers: [registry],
    collect() {
      this.set(stats().queued);
    },
  });
  new Gauge({
    name: 'airlock_executions_running',
    help: 'Executions running now.',
    registers: [registry],
    collect() {
      this.set(stats().running);
    },
  });
  let logWriteErrorsSeen = 0;
  new Counter({
    name: 'airlock_log_write_errors_total',
    help: 'Service log lines dropped because stdout could not take them (a write error, or the backlog was full).',
    registers: [registry],
    collect() {
      const now = logWriteErrors();
      if (now > logWriteErrorsSeen) this.inc(now - logWriteErrorsSeen);
      logWriteErrorsSeen = now;
    },
  });
  if (options.pools) registerPoolMetrics(registry, options.pools);
  const outcomes = new Counter({
    name: 'airlock_executions_total',
    help: 'Finished executions by outcome, language and backend.',
    labelNames: ['outcome', 'language', 'backend'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'airlock_rejections_total',
    help: 'Submissions refused before they were queued, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'airlock_execution_duration_seconds',
    help: 'Time an execution spent queued, running, and in total.',
    labelNames: ['phase', 'backend'] as const,
    buckets: SECONDS,
    registers: [registry],
  });
  return {
    registry,
    observeFinished(execution) {
      const outcome = execution.result?.outcome ?? 'internal_error';
      outcomes.inc({ outcome, language: execution.language, backend: execution.backend });
      const created = Date.parse(execution.created_at);
      const finished = Date.parse(execution.finished_at ?? execution.created_at);
      const started = execution.started_at ? Date.parse(execution.started_at) : finished;
      duration.observe({ phase: 'queued', backend: execution.backend }, (started - created) / 1000);
      duration.observe({ phase: 'running', backend: execution.backend }, (finished - started) / 1000);
      duration.observe({ phase: 'total', backend: execution.backend }, (finished - created) / 1000);
    },
    observeRejected(code) {
      rejected.inc({ code });
    },
  };
}

/**
 * Each warm pool's containers (ready, creating) beside its target and bounds, its leases served warm (hit) or
 * cold (miss), the jobs that waited for a creation, its lease rate, and its measured refill, cold start and
 * teardown times.
 */
function registerPoolMetrics(registry: Registry, pools: () => WarmPoolStats[]): void {
  poolMetric(registry, pools, 'gauge', {
    name: 'airlock_warm_pool_containers',
    help:
      'Containers of a warm pool: `state` ready (started and waiting), creating (being created), target (the ' +
      'size it refills to now: m + 3·√m for m = lease rate × refill time, between min and max), min or max.',
    label: 'state',
    values: {
      ready: (pool) => pool.ready,
      creating: (pool) => pool.creating,
      target: (pool) => pool.size,
      min: (pool) => pool.min,
      max: (pool) => pool.max,
    },
  });
  // The pools keep their own running counts; the counters report them as they are.
  poolMetric(registry, pools, 'counter', {
    name: 'airlock_warm_pool_leases_total',
    help: 'Jobs that asked a warm pool for a container: `result` hit (a warm one) or miss (the cold path).',
    label: 'result',
    values: { hit: (pool) => pool.hits, miss: (pool) => pool.misses },
  });
  poolMetric(registry, pools, 'counter', {
    name: 'airlock_warm_pool_waits_total',
    help:
      'Jobs that found a warm pool empty and waited for a container being created: `result` warm (got it) or ' +
      'cold (went cold at the bound, on a failed creation, or when canceled).',
    label: 'result',
    values: { warm: (pool) => pool.waitHits, cold: (pool) => pool.waits - pool.waitHits },
  });
  poolMetric(registry, pools, 'gauge', {
    name: 'airlock_warm_pool_duration_seconds',
    help:
      'Measured times of a warm pool (moving averages): `phase` refill (create and start of a warm container), ' +
      'cold (a job’s cold start) or teardown (removal of a used container); absent until measured.',
    label: 'phase',
    values: {
      refill: (pool) => seconds(pool.refillMs),
      cold: (pool) => seconds(pool.coldMs),
      teardown: (pool) => seconds(pool.teardownMs),
    },
  });
  new Gauge({
    name: 'airlock_warm_pool_lease_rate',
    help: 'Leases per second asked of a warm pool (a moving average; sizes its target).',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const pool of pools()) this.set({ pool: pool.key }, pool.leaseRate);
    },
  });
}

function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}

interface PoolMetric {
  name: string;
  help: string;
  /** The label beside `pool`; each key of `values` is one of its values, read from each pool at each scrape. */
  label: string;
  /** A value read as null has no sample. */
  values: Record<string, (pool: WarmPoolStats) => number | null>;
}

/** A metric of every warm pool, reset and read from the pools at each scrape. */
function poolMetric(
  registry: Registry,
  pools: () => WarmPoolStats[],
  kind: 'gauge' | 'counter',
  metric: PoolMetric,
): void {
  const configuration = {
    name: metric.name,
    help: metric.help,
    labelNames: ['pool', metric.label],
    registers: [registry],
  };
  const samples = () =>
    pools().flatMap((pool) =>
      Object.entries(metric.values).flatMap(([value, read]) => {
        const sample = read(pool);
        return sample === null ? [] : [{ labels: { pool: pool.key, [metric.label]: value }, value: sample }];
      }),
    );
  if (kind === 'gauge') {
    new Gauge({
      ...configuration,
      collect() {
        this.reset();
        for (const sample of samples()) this.set(sample.labels, sample.value);
      },
    });
  } else {
    new Counter({
      ...configuration,
      collect() {
        this.reset();
        for (const sample of samples()) this.inc(sample.labels, sample.value);
      },
    });
  }
}
