// Whether the gateway should be sent work (/readyz), and the loud log lines of the audit log's health: while
// the audit log cannot be written, every submission is refused with `503 audit_unavailable`, so the gateway
// says it is not ready. Must never report ready while the audit log is failing.

import type { AuditHealth } from '@airlock/audit';
import type { Logger } from '@airlock/logging';

export type Readiness = { ready: true } | { ready: false; reason: string };

export const READY: Readiness = Object.freeze({ ready: true });

/** Not ready while shutting down, or while the audit log cannot be written (saying since when and why). */
export function gatewayReadiness(closing: boolean, audit: { readonly health: AuditHealth }): Readiness {
  if (closing) return { ready: false, reason: 'shutting down' };
  const health = audit.health;
  if (health.healthy) return READY;
  return {
    ready: false,
    reason: `audit log unwritable since ${health.since} (${health.error}); refusing new work until it can be written`,
  };
}

/** Logs the audit log turning unwritable (error) and writable again (warn). */
export function logAuditHealth(logger: Logger, path: string): (health: AuditHealth) => void {
  return (health) => {
    if (health.healthy) {
      logger.warn({ audit: path }, 'audit log writable again: accepting new work');
      return;
    }
    logger.error(
      { audit: path, error: health.error, since: health.since },
      'AUDIT LOG UNWRITABLE: refusing all new work (503 audit_unavailable) until it can be written again',
    );
  };
}
