// What the configuration says for the gateway's parts, the same in both deployments (embedded and scaled
// out): its audit log, the bounds of a request, webhook delivery, and the version it reports. The limit policy
// and the sessions' settings are @airlock/sessions' (a worker reads them too). Reads nothing but the Config.

import type { ProcessAuditLogOptions } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { limitPolicy } from '@airlock/sessions';
import type { GatewayDeps } from './app.ts';
import { logAuditHealth } from './readiness.ts';
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

/** Default and ceiling of limits.compile_wall_time_ms. */
export function compileWallTime(config: Config): { default: number; ceiling: number } {
  return {
    default: config.AIRLOCK_DEFAULT_COMPILE_WALL_TIME_MS,
    ceiling: config.AIRLOCK_MAX_COMPILE_WALL_TIME_MS,
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
