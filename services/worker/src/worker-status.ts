// What a worker process says about itself (its heartbeat on NATS, the one worker of GET /v1/workers in the
// embedded mode): the backends it runs, its running jobs and capacity, its warm pools, its templates (as
// GET /v1/templates shows them), whether it is draining, and (on NATS) the runs it finished.
// Reads the state of the sandboxes and the queue; changes nothing.

import { hostname } from 'node:os';
import { type BackendName, VERSION, type WorkerRunStats, type WorkerStatus } from '@airlock/protocol';
import type { SandboxRegistry } from './backends.ts';

export interface WorkerStatusSource {
  /** The worker's id: the queue instance id on NATS. */
  id: string;
  startedAt: Date;
  registry: SandboxRegistry;
  /** Executions running now. */
  running: () => number;
  /** AIRLOCK_CONCURRENCY. */
  capacity: number;
  /** Whether it has stopped taking jobs (SIGTERM) and finishes the running ones. @default never */
  draining?: () => boolean;
  /** Its finished runs (NATS workers). @default none announced */
  stats?: () => WorkerRunStats;
}

export function workerStatus(source: WorkerStatusSource): Omit<WorkerStatus, 'ttl_ms'> {
  const backends = new Set<BackendName>();
  for (const runtime of source.registry.runtimes()) if (runtime.available) backends.add(runtime.backend);
  return {
    id: source.id,
    host: hostname(),
    pid: process.pid,
    version: VERSION,
    started_at: source.startedAt.toISOString(),
    backends: [...backends].sort(),
    running: source.running(),
    capacity: source.capacity,
    pools: source.registry.pools().map((pool) => ({
      backend: pool.backend,
      key: pool.key,
      target: pool.size,
      ready: pool.ready,
      hits: pool.hits,
      misses: pool.misses,
    })),
    // In full (languages, packages, size, hash, state, reason): NATS gateways list the fleet's templates from these.
    templates: source.registry.templates(),
    state: source.draining?.() ? 'draining' : 'running',
    ...(source.stats ? { stats: source.stats() } : {}),
  };
}
