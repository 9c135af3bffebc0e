// The embedded deployment: gateway, in-process queue, worker and sandboxes (isolate, docker, gvisor) in one process.
// Used by main.ts and by tests that need the whole service; it binds no port (the caller listens).

import { FileAuditLog } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import type { LimitPolicy } from '@airlock/protocol';
import { MemoryJobQueue } from '@airlock/queue';
import { createExecutionWorker, finishedEntry, type SandboxRegistry } from '@airlock/worker';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from './app.ts';
import type { Authorizer } from './authorizer.ts';
import { createAuthorizer } from './authorizer-setup.ts';
import { createMetrics } from './metrics.ts';
import { startSandboxes } from './sandbox-setup.ts';
import { ExecutionSubmitter } from './submission.ts';

export interface EmbeddedService {
  app: FastifyInstance;
  authorizer: Authorizer;
  queue: MemoryJobQueue;
  registry: SandboxRegistry;
  audit: FileAuditLog;
  /** Stops taking requests, drains and cancels work, stops sandboxes, closes the audit log. */
  close(): Promise<void>;
}

export const VERSION = '0.1.0';

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

export async function startEmbedded(config: Config, logger: Logger): Promise<EmbeddedService> {
  const authorizer = await createAuthorizer(config);
  const audit = await FileAuditLog.open(config.AIRLOCK_AUDIT_LOG, { fsync: config.AIRLOCK_AUDIT_FSYNC });
  const registry = await startSandboxes(config, logger);
  let metrics: ReturnType<typeof createMetrics> | undefined;
  let submitter: ExecutionSubmitter | undefined;
  const queue = new MemoryJobQueue({
    concurrency: config.AIRLOCK_CONCURRENCY,
    maxQueued: config.AIRLOCK_MAX_QUEUED,
    retentionMs: config.AIRLOCK_RETENTION_SECONDS * 1000,
    maxRetained: config.AIRLOCK_MAX_RETAINED,
    onFinished: (execution) => {
      submitter?.finished(execution);
      metrics?.observeFinished(execution);
      audit
        .append(finishedEntry(execution))
        .catch((err: unknown) => logger.error({ err }, 'audit append failed'));
    },
  });
  metrics = createMetrics(() => queue.stats());
  queue.consume(
    createExecutionWorker({
      registry,
      audit,
      onAuditError: (err) => logger.error({ err }, 'audit append failed'),
    }),
  );
  submitter = new ExecutionSubmitter({
    queue,
    registry,
    audit,
    authorizer,
    limits: limitPolicy(config),
    onRejected: (code) => metrics?.observeRejected(code),
  });
  let closing = false;
  const app = await buildGateway({
    logger,
    queue,
    submitter,
    metrics,
    authorizer,
    runtimes: () => registry.runtimes(),
    ready: () => !closing,
    limits: {
      bodyLimitBytes: config.AIRLOCK_BODY_LIMIT_BYTES,
      maxWaitSeconds: config.AIRLOCK_MAX_WAIT_SECONDS,
      maxWatchers: config.AIRLOCK_MAX_WATCHERS,
    },
    version: VERSION,
  });
  return {
    app,
    authorizer,
    queue,
    registry,
    audit,
    async close() {
      if (closing) return;
      closing = true;
      const grace = setTimeout(
        () => logger.warn('shutdown grace elapsed; canceling running executions'),
        config.AIRLOCK_SHUTDOWN_GRACE_MS,
      );
      grace.unref();
      await app.close();
      await queue.close();
      clearTimeout(grace);
      await registry.close();
      await audit.close();
    },
  };
}
