// The execution and warm-pool figures of a fleet of NATS workers, as /v1/stats metrics: each worker's heartbeat
// carries its finished runs (outcomes, duration histograms per backend and phase) and its warm pools, and this
// sums nothing away — every sample keeps a `worker` label — so the console adds them up as it would the
// gateway's own. Every gateway reads the same heartbeats, so every gateway answers the same figures.
// Uses the metric names and buckets of the gateway's registry (metrics.ts), so the console draws both alike.

import { DURATION_BUCKETS_SECONDS, type Worker } from '@airlock/protocol';
import type { Metric } from './stats.ts';

type Sample = Metric['samples'][number];

export function fleetMetrics(workers: readonly Worker[]): Metric[] {
  const runs: Sample[] = [];
  const durations: Sample[] = [];
  const containers: Sample[] = [];
  const leases: Sample[] = [];
  for (const worker of workers) {
    const id = worker.id;
    for (const run of worker.stats?.runs ?? []) {
      const labels = { outcome: run.outcome, language: run.language, backend: run.backend, worker: id };
      runs.push({ name: 'airlock_executions_total', labels, value: run.count });
    }
    for (const d of worker.stats?.durations ?? []) {
      const labels = { phase: d.phase, backend: d.backend, worker: id };
      const name = 'airlock_execution_duration_seconds';
      for (const [i, le] of DURATION_BUCKETS_SECONDS.entries()) {
        durations.push({ name: `${name}_bucket`, labels: { ...labels, le }, value: d.buckets[i] ?? 0 });
      }
      durations.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: d.count });
      durations.push({ name: `${name}_sum`, labels, value: d.sum });
      durations.push({ name: `${name}_count`, labels, value: d.count });
    }
    for (const pool of worker.pools) {
      const labels = { pool: pool.key, worker: id };
      const name = 'airlock_warm_pool_containers';
      containers.push({ name, labels: { ...labels, state: 'ready' }, value: pool.ready });
      containers.push({ name, labels: { ...labels, state: 'target' }, value: pool.target });
      leases.push({
        name: 'airlock_warm_pool_leases_total',
        labels: { ...labels, result: 'hit' },
        value: pool.hits,
      });
      leases.push({
        name: 'airlock_warm_pool_leases_total',
        labels: { ...labels, result: 'miss' },
        value: pool.misses,
      });
    }
  }
  return [
    {
      name: 'airlock_executions_total',
      type: 'counter',
      help: 'Finished executions by outcome, language, backend and worker (from the workers’ heartbeats).',
      samples: runs,
    },
    {
      name: 'airlock_execution_duration_seconds',
      type: 'histogram',
      help: 'Time an execution spent queued, running, and in total, per backend and worker (from the heartbeats).',
      samples: durations,
    },
    {
      name: 'airlock_warm_pool_containers',
      type: 'gauge',
      help: 'Containers of each worker’s warm pools: `state` ready or target (from the heartbeats).',
      samples: containers,
    },
    {
      name: 'airlock_warm_pool_leases_total',
      type: 'counter',
      help: 'Jobs that asked a worker’s warm pool for a container: `result` hit or miss (from the heartbeats).',
      samples: leases,
    },
  ];
}
