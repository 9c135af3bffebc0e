// What the configuration says for the sessions, the same on a gateway (embedded mode) and a worker (NATS mode):
// the limit policy of executions and sessions, the sessions' time bounds and count, and the snapshot stores'
// retention and quota. Reads nothing but the Config it is given (main.ts parses it once).

import type { Config } from '@airlock/config';
import type { LimitPolicy } from '@airlock/protocol';
import type { SessionSettings } from './session-deps.ts';
import type { SnapshotStoreOptions } from './snapshots/snapshot-store.ts';

/** The server's defaults and ceilings of a run's limits (before a token or tenant narrows them). */
export function limitPolicy(config: Config): LimitPolicy {
  return {
    defaults: {
      wall_time_ms: config.AIRLOCK_DEFAULT_WALL_TIME_MS,
      cpu_time_ms: config.AIRLOCK_DEFAULT_CPU_TIME_MS,
      memory_mb: config.AIRLOCK_DEFAULT_MEMORY_MB,
      output_bytes: config.AIRLOCK_DEFAULT_OUTPUT_BYTES,
    },
    ceilings: {
      wall_time_ms: config.AIRLOCK_MAX_WALL_TIME_MS,
      cpu_time_ms: config.AIRLOCK_MAX_CPU_TIME_MS,
      memory_mb: config.AIRLOCK_MAX_MEMORY_MB,
      output_bytes: config.AIRLOCK_MAX_OUTPUT_BYTES,
    },
  };
}

/** The sessions' time bounds, their maximum, file bound and idle default; the same for a gateway and a worker. */
export function sessionSettings(config: Config): SessionSettings {
  return {
    idleSeconds: {
      default: config.AIRLOCK_SESSION_IDLE_SECONDS,
      ceiling: config.AIRLOCK_SESSION_MAX_IDLE_SECONDS,
    },
    lifetimeSeconds: {
      default: config.AIRLOCK_SESSION_LIFETIME_SECONDS,
      ceiling: config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS,
    },
    maxSessions: config.AIRLOCK_MAX_SESSIONS,
    fileBytes: config.AIRLOCK_SESSION_FILE_BYTES,
    onIdle: config.AIRLOCK_SESSION_ON_IDLE,
  };
}

/** The snapshot stores' retention, quota and sweep of pause images (AIRLOCK_SNAPSHOT_*). */
export function snapshotStoreOptions(config: Config): Omit<SnapshotStoreOptions, 'events'> {
  return {
    retentionSeconds: config.AIRLOCK_SNAPSHOT_RETENTION_SECONDS,
    quota: { max_count: config.AIRLOCK_SNAPSHOT_MAX_COUNT, max_bytes: config.AIRLOCK_SNAPSHOT_MAX_BYTES },
    sessionLifetimeSeconds: config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS,
  };
}
