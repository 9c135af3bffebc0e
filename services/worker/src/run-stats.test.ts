// A worker's count of its finished runs: by backend, language and outcome, and each phase's duration in the
// cumulative buckets of DURATION_BUCKETS_SECONDS.

import { DURATION_BUCKETS_SECONDS, type Execution } from '@airlock/protocol';
import { describe, expect, it } from 'vitest';
import { RunStats } from './run-stats.ts';

const finished = (
  backend: 'isolate' | 'docker',
  outcome: 'success' | 'timeout',
  queuedMs: number,
  ranMs: number,
) =>
  ({
    backend,
    language: 'javascript',
    created_at: new Date(0).toISOString(),
    started_at: new Date(queuedMs).toISOString(),
    finished_at: new Date(queuedMs + ranMs).toISOString(),
    result: { outcome },
  }) as unknown as Execution;

describe('RunStats', () => {
  it('counts runs and fills the duration buckets of each phase', () => {
    const stats = new RunStats();
    expect(stats.snapshot()).toEqual({ runs: [], durations: [] });
    stats.observe(finished('isolate', 'success', 20, 30));
    stats.observe(finished('isolate', 'success', 20, 3_000));
    stats.observe(finished('docker', 'timeout', 200, 10_000));
    const snapshot = stats.snapshot();
    expect(snapshot.runs).toEqual([
      { backend: 'isolate', language: 'javascript', outcome: 'success', count: 2 },
      { backend: 'docker', language: 'javascript', outcome: 'timeout', count: 1 },
    ]);
    const total = snapshot.durations.find((d) => d.backend === 'isolate' && d.phase === 'total')!;
    expect(total.count).toBe(2);
    expect(total.sum).toBeCloseTo(3.07);
    const at = (le: number) => total.buckets[DURATION_BUCKETS_SECONDS.indexOf(le as never)];
    expect(at(0.025)).toBe(0);
    expect(at(0.05)).toBe(1);
    expect(at(2.5)).toBe(1);
    expect(at(5)).toBe(2);
    expect(at(60)).toBe(2);
    const queued = snapshot.durations.find((d) => d.backend === 'docker' && d.phase === 'queued')!;
    expect(queued).toMatchObject({ count: 1, sum: 0.2 });
    // A snapshot is a copy: later runs do not change it.
    stats.observe(finished('docker', 'timeout', 1, 1));
    expect(queued.count).toBe(1);
  });
});
