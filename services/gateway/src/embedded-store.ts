// The embedded service's store and its crash recovery: opens the SQLite store in AIRLOCK_DATA_DIR (bounded by
// AIRLOCK_RETENTION_SECONDS and AIRLOCK_RETAINED_BYTES), then ends what a previous process left unfinished.
// Runs before any sandbox or the gateway starts. Must never start sandboxes or take requests itself.

import { join } from 'node:path';
import type { AuditSink } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { reapLeftovers } from '@airlock/sandbox';
import { SqliteStore } from '@airlock/store';
import Dockerode from 'dockerode';
import { logStoreHealth } from './readiness.ts';
import { type RecoveryReport, type Retry, recoverAfterCrash } from './recovery/recover.ts';

export const STORE_FILE = 'airlock.db';

export function openStore(config: Config, logger: Logger): SqliteStore {
  const path = join(config.AIRLOCK_DATA_DIR, STORE_FILE);
  if (config.AIRLOCK_MAX_RETAINED !== undefined) {
    logger.warn(
      { AIRLOCK_MAX_RETAINED: config.AIRLOCK_MAX_RETAINED },
      'AIRLOCK_MAX_RETAINED is deprecated: the store is bounded by AIRLOCK_RETAINED_BYTES and AIRLOCK_RETENTION_SECONDS',
    );
  }
  return SqliteStore.open({
    path,
    onHealthChange: logStoreHealth(logger, path),
    retentionMs: config.AIRLOCK_RETENTION_SECONDS * 1000,
    retainedBytes: config.AIRLOCK_RETAINED_BYTES,
    events: {
      retentionMs: config.AIRLOCK_EVENTS_RETENTION_SECONDS * 1000,
      retainedBytes: config.AIRLOCK_EVENTS_RETAINED_BYTES,
    },
    ...(config.AIRLOCK_MAX_RETAINED === undefined ? {} : { maxExecutions: config.AIRLOCK_MAX_RETAINED }),
  });
}

/** Ends (or hands back for a retry) everything a previous process accepted and never finished. */
export async function recoverStore(
  config: Config,
  logger: Logger,
  store: Pick<SqliteStore, 'executions' | 'sessions'>,
  audit: AuditSink,
): Promise<Retry[]> {
  const report = await recoverAfterCrash({
    executions: store.executions,
    sessions: store.sessions,
    audit,
    auditPath: config.AIRLOCK_AUDIT_LOG,
    reapContainers: () => reapDeadOwners(config, logger),
    logger,
  });
  if (hasWork(report)) {
    logger.warn(
      {
        containersRemoved: report.reaped,
        executionsEnded: report.ended.length,
        sessionsClosed: report.closed.length,
        finishedRecordsWritten: report.audited.length,
        neverAcceptedRemoved: report.discarded.length,
        queuedAgain: report.retries.length,
      },
      'recovered from an unclean stop: unfinished work ended with "service restarted"',
    );
  }
  return report.retries;
}

function hasWork(report: RecoveryReport): boolean {
  const { reaped, ended, closed, audited, retries } = report;
  return reaped + ended.length + closed.length + audited.length + retries.length > 0;
}

/** Containers of a process that is gone (a crashed predecessor); none when no container backend is set up. */
async function reapDeadOwners(config: Config, logger: Logger): Promise<number> {
  if (!config.AIRLOCK_BACKENDS.some((b) => b === 'docker' || b === 'gvisor')) return 0;
  try {
    return await reapLeftovers(new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET }));
  } catch (err) {
    logger.warn({ err }, 'recovery: leftover containers could not be listed or removed');
    return 0;
  }
}
