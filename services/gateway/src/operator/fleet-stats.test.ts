// The fleet's figures from workers' heartbeats: each worker's runs, duration buckets and pool leases become
// samples with its `worker` label, under the names and buckets of the gateway's own registry.

import { DURATION_BUCKETS_SECONDS, type Worker } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { fleetMetrics } from './fleet-stats.ts';

const worker = (id: string, stats?: Worker['stats']): Worker => ({
  id,
  host: 'h',
  pid: 1,
  version: '0.1.0',
  started_at: new Date(0).toISOString(),
  backends: ['isolate', 'docker'],
  running: 0,
  capacity: 2,
  pools: [{ backend: 'docker', key: 'airlock-python|runc', target: 1, ready: 1, hits: 3, misses: 1 }],
  templates: [],
  state: 'running',
  ttl_ms: 15_000,
  last_seen: new Date(0).toISOString(),
  ...(stats ? { stats } : {}),
});

describe('fleetMetrics', () => {
  it("labels each worker's runs, durations and pools with the worker", () => {
    const buckets = DURATION_BUCKETS_SECONDS.map((le) => (le >= 0.1 ? 2 : 0));
    const metrics = fleetMetrics([
      worker('w_a', {
        runs: [{ backend: 'isolate', language: 'javascript', outcome: 'success', count: 2 }],
        durations: [{ backend: 'isolate', phase: 'total', buckets, count: 2, sum: 0.15 }],
      }),
      worker('w_b'),
    ]);
    const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
    expect(byName.airlock_executions_total?.samples).toEqual([
      {
        name: 'airlock_executions_total',
        labels: { outcome: 'success', language: 'javascript', backend: 'isolate', worker: 'w_a' },
        value: 2,
      },
    ]);
    const duration = byName.airlock_execution_duration_seconds!.samples;
    expect(duration.filter((s) => s.name.endsWith('_bucket'))).toHaveLength(
      DURATION_BUCKETS_SECONDS.length + 1,
    );
    expect(duration.find((s) => s.labels.le === '+Inf')?.value).toBe(2);
    expect(duration.find((s) => s.labels.le === 0.05)?.value).toBe(0);
    expect(duration.find((s) => s.labels.le === 0.1)?.value).toBe(2);
    expect(duration.find((s) => s.name.endsWith('_sum'))?.value).toBe(0.15);
    const leases = byName.airlock_warm_pool_leases_total!.samples;
    expect(leases.map((s) => [s.labels.worker, s.labels.result, s.value])).toEqual([
      ['w_a', 'hit', 3],
      ['w_a', 'miss', 1],
      ['w_b', 'hit', 3],
      ['w_b', 'miss', 1],
    ]);
    expect(byName.airlock_warm_pool_containers!.samples).toHaveLength(4);
  });

  it('answers the four metrics, empty, when no worker is up', () => {
    expect(fleetMetrics([]).map((m) => [m.name, m.samples.length])).toEqual([
      ['airlock_executions_total', 0],
      ['airlock_execution_duration_seconds', 0],
      ['airlock_warm_pool_containers', 0],
      ['airlock_warm_pool_leases_total', 0],
    ]);
  });
});
