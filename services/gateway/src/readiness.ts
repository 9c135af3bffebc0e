// Whether the gateway should be sent work (/readyz), and the loud log lines of the audit log's and the store's
// health: while either cannot be written, every submission is refused (`503 audit_unavailable`,
// `503 store_unavailable`), so the gateway says it is not ready. Must never report ready while one is failing.

import type { AuditHealth } from '@airlock/audit';
import type { Logger } from '@airlock/logging';
import type { StoreHealth } from '@airlock/store';

export type Readiness = { ready: true } | { ready: false; reason: string };

export const READY: Readiness = Object.freeze({ ready: true });

/**
 * Not ready while shutting down, or while the audit log or the execution store (embedded mode) cannot be
 * written, saying since when and why.
 */
export function gatewayReadiness(
  closing: boolean,
  audit: { readonly health: AuditHealth },
  store?: { readonly health: StoreHealth },
): Readiness {
  if (closing) return { ready: false, reason: 'shutting down' };
  const health = audit.health;
  if (!health.healthy) {
    return {
      ready: false,
      reason: `audit log unwritable since ${health.since} (${health.error}); refusing new work until it can be written`,
    };
  }
  const stored = store?.health;
  if (stored && !stored.healthy) {
    return {
      ready: false,
      reason: `execution store unwritable since ${stored.since} (${stored.error}); refusing new work until it can be written`,
    };
  }
  return READY;
}

/** Logs the store turning unwritable (error) and writable again (warn). */
export function logStoreHealth(logger: Logger, path: string): (health: StoreHealth) => void {
  return logHealth(logger, { store: path }, 'execution store', 'store_unavailable');
}

/** Logs the audit log turning unwritable (error) and writable again (warn). */
export function logAuditHealth(logger: Logger, path: string): (health: AuditHealth) => void {
  return logHealth(logger, { audit: path }, 'audit log', 'audit_unavailable');
}

function logHealth(
  logger: Logger,
  where: Record<string, string>,
  name: string,
  code: string,
): (health: AuditHealth | StoreHealth) => void {
  return (health) => {
    if (health.healthy) {
      logger.warn(where, `${name} writable again: accepting new work`);
      return;
    }
    logger.error(
      { ...where, error: health.error, since: health.since },
      `${name.toUpperCase()} UNWRITABLE: refusing all new work (503 ${code}) until it can be written again`,
    );
  };
}
