// The runs this worker finished, counted for its heartbeat: executions by backend, language and outcome, and
// the queued, running and total durations per backend as cumulative histograms over DURATION_BUCKETS_SECONDS
// (the buckets of the gateway's `airlock_execution_duration_seconds`). Gateways on NATS sum these over the
// workers' heartbeats, so every gateway draws the same figures. Counts only grow while the process lives.

import { DURATION_BUCKETS_SECONDS, type Execution, type WorkerRunStats } from '@airlock/protocol';

type Phase = 'queued' | 'running' | 'total';

interface Histogram {
  buckets: number[];
  count: number;
  sum: number;
}

export class RunStats {
  readonly #runs = new Map<string, WorkerRunStats['runs'][number]>();
  readonly #durations = new Map<string, { backend: string; phase: Phase; histogram: Histogram }>();

  /** Counts one finished execution (its outcome and its three durations). */
  observe(execution: Execution): void {
    const outcome = execution.result?.outcome ?? 'internal_error';
    const key = `${execution.backend}\u0000${execution.language}\u0000${outcome}`;
    const run = this.#runs.get(key) ?? {
      backend: execution.backend,
      language: execution.language,
      outcome,
      count: 0,
    };
    run.count += 1;
    this.#runs.set(key, run);
    const created = Date.parse(execution.created_at);
    const finished = Date.parse(execution.finished_at ?? execution.created_at);
    const started = execution.started_at ? Date.parse(execution.started_at) : finished;
    this.#observe(execution.backend, 'queued', (started - created) / 1000);
    this.#observe(execution.backend, 'running', (finished - started) / 1000);
    this.#observe(execution.backend, 'total', (finished - created) / 1000);
  }

  /** The counts as the heartbeat carries them. */
  snapshot(): WorkerRunStats {
    return {
      runs: [...this.#runs.values()].map((run) => ({ ...run })),
      durations: [...this.#durations.values()].map(({ backend, phase, histogram }) => ({
        backend,
        phase,
        buckets: [...histogram.buckets],
        count: histogram.count,
        sum: histogram.sum,
      })),
    };
  }

  #observe(backend: string, phase: Phase, seconds: number): void {
    const key = `${backend}\u0000${phase}`;
    let entry = this.#durations.get(key);
    if (entry === undefined) {
      entry = {
        backend,
        phase,
        histogram: { buckets: DURATION_BUCKETS_SECONDS.map(() => 0), count: 0, sum: 0 },
      };
      this.#durations.set(key, entry);
    }
    const value = Math.max(0, seconds);
    const { histogram } = entry;
    for (const [i, bound] of DURATION_BUCKETS_SECONDS.entries()) {
      if (value <= bound) histogram.buckets[i] = (histogram.buckets[i] ?? 0) + 1;
    }
    histogram.count += 1;
    histogram.sum += value;
  }
}
