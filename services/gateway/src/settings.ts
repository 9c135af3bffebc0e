// What the configuration says for the gateway's parts, the same in both deployments (embedded and scaled
// out): its audit log, the limit policy of executions and sessions, the bounds of a request, and the version
// it reports. Reads nothing but the Config it is given.

import type { ProcessAuditLogOptions } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import type { LimitPolicy } from '@airlock/protocol';
import type { GatewayDeps } from './app.ts';
import { logAuditHealth } from './readiness.ts';
import type { SessionSettings } from './sessions/session-deps.ts';
import type { SnapshotStoreOptions } from './snapshots/snapshot-store.ts';
import type { WebhookSettings } from './webhooks/webhook-dispatcher.ts';

export { VERSION } from '@airlock/protocol';

/** The gateway's audit log (AIRLOCK_AUDIT_LOG), whose turning unwritable and writable again is logged. */
export function auditLogOptions(config: Config, logger: Logger): ProcessAuditLogOptions {
  return {
    path: config.AIRLOCK_AUDIT_LOG,
    fsync: config.AIRLOCK_AUDIT_FSYNC,
    onHealthChange: logAuditHealth(logger, config.AIRLOCK_AUDIT_LOG),
  };
}

/** The server's defaults and ceilings of a run's limits (before a token or tenant narrows them). */
/** Default and ceiling of limits.compile_wall_time_ms. */
export function compileWallTime(config: Config): { default: number; ceiling: number } {
  return {
    default: config.AIRLOCK_DEFAULT_COMPILE_WALL_TIME_MS,
    ceiling: config.AIRLOCK_MAX_COMPILE_WALL_TIME_MS,
  };
}

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

/** How much one HTTP request may carry, wait for, or watch. */
export function requestLimits(config: Config): GatewayDeps['limits'] {
  return {
    bodyLimitBytes: config.AIRLOCK_BODY_LIMIT_BYTES,
    maxWaitSeconds: config.AIRLOCK_MAX_WAIT_SECONDS,
    maxWatchers: config.AIRLOCK_MAX_WATCHERS,
    defaults: limitPolicy(config).defaults,
    ceilings: limitPolicy(config).ceilings,
    sessionCeilings: {
      idleSeconds: config.AIRLOCK_SESSION_MAX_IDLE_SECONDS,
      lifetimeSeconds: config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS,
    },
  };
}

/** How webhooks are delivered: attempts, timeouts, backoff, the pending bound and the address allowances. */
export function webhookSettings(config: Config): WebhookSettings {
  return {
    attempts: config.AIRLOCK_WEBHOOK_ATTEMPTS,
    timeoutMs: config.AIRLOCK_WEBHOOK_TIMEOUT_MS,
    backoffMs: config.AIRLOCK_WEBHOOK_BACKOFF_MS,
    maxBackoffMs: config.AIRLOCK_WEBHOOK_MAX_BACKOFF_MS,
    maxPending: config.AIRLOCK_WEBHOOK_MAX_PENDING,
    allowances: config.AIRLOCK_WEBHOOK_ALLOWANCES,
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
