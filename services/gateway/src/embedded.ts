// The embedded deployment: gateway, in-process queue, worker and sandboxes (isolate, docker, gvisor) in one process.
// Used by main.ts and by tests that need the whole service; it binds no port (the caller listens).

import { FileAuditLog } from '@airlock/audit';
import type { Config } from '@airlock/config';
import { boundCredentialNames, type EmbeddedEgress, startEmbeddedEgress } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import type { LimitPolicy } from '@airlock/protocol';
import { MemoryJobQueue } from '@airlock/queue';
import type { SqliteStore } from '@airlock/store';
import { createExecutionWorker, finishedEntry, type SandboxRegistry, startSandboxes } from '@airlock/worker';
import Dockerode from 'dockerode';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from './app.ts';
import type { Authorizer } from './authorizer.ts';
import { createAuthorizer } from './authorizer-setup.ts';
import { openStore, recoverStore } from './embedded-store.ts';
import { createMetrics } from './metrics.ts';
import { startSessionBackends } from './sessions/session-backends.ts';
import { Sessions } from './sessions/sessions.ts';
import { ExecutionSubmitter } from './submission.ts';

export interface EmbeddedService {
  app: FastifyInstance;
  authorizer: Authorizer;
  queue: MemoryJobQueue;
  registry: SandboxRegistry;
  audit: FileAuditLog;
  /** Executions (with output and replays) and sessions on disk, in AIRLOCK_DATA_DIR. */
  store: SqliteStore;
  /** Egress (issue #4): the egress network and proxy, when AIRLOCK_EGRESS=on and Docker is there. */
  egress: EmbeddedEgress | undefined;
  /** Sessions (issue #7). */
  sessions: Sessions;
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

/** Egress (issue #4): the network, proxy and firewall, or undefined (with a warning) when Docker is missing. */
async function startEgress(
  config: Config,
  logger: Logger,
  secretsEnv: Readonly<Record<string, string | undefined>> | undefined,
): Promise<EmbeddedEgress | undefined> {
  if (config.AIRLOCK_EGRESS !== 'on') return undefined;
  try {
    const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
    return await startEmbeddedEgress(config, docker, logger, secretsEnv);
  } catch (err) {
    logger.warn({ err }, 'egress unavailable: runs that ask for network egress will be rejected');
    return undefined;
  }
}

export async function startEmbedded(
  config: Config,
  logger: Logger,
  /** Egress (issue #4): environment for the development secrets provider (without AIRLOCK_SECRETS_DIR). */
  options: { secretsEnv?: Readonly<Record<string, string | undefined>> } = {},
): Promise<EmbeddedService> {
  const authorizer = await createAuthorizer(config);
  const audit = await FileAuditLog.open(config.AIRLOCK_AUDIT_LOG, { fsync: config.AIRLOCK_AUDIT_FSYNC });
  // --- the store, then crash recovery: before any sandbox starts and before the gateway accepts anything.
  const store = openStore(config, logger);
  let retries: Awaited<ReturnType<typeof recoverStore>>;
  try {
    retries = await recoverStore(config, logger, store, audit);
  } catch (error) {
    store.close();
    throw error;
  }
  // --- end store
  const egress = await startEgress(config, logger, options.secretsEnv);
  let registry: SandboxRegistry;
  try {
    registry = await startSandboxes(config, logger, egress?.network);
  } catch (error) {
    await egress?.close();
    store.close();
    throw error;
  }
  let metrics: ReturnType<typeof createMetrics> | undefined;
  let submitter: ExecutionSubmitter | undefined;
  const queue = new MemoryJobQueue({
    concurrency: config.AIRLOCK_CONCURRENCY,
    maxQueued: config.AIRLOCK_MAX_QUEUED,
    store: store.executions,
    onStoreError: (err, during) => logger.error({ err, during }, 'execution store write failed'),
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
      ...(egress ? { egress: egress.broker } : {}),
    }),
  );
  // Requests that asked for `retry_on_worker_loss` and were cut off by the crash run again.
  for (const retry of retries) await queue.restore(retry);
  submitter = new ExecutionSubmitter({
    queue,
    registry,
    audit,
    authorizer,
    limits: limitPolicy(config),
    egress: egress !== undefined,
    credentials: egress ? await boundCredentialNames(config) : [],
    onRejected: (code) => metrics?.observeRejected(code),
  });
  const sessions = new Sessions({
    backends: await startSessionBackends(config, logger),
    store,
    audit,
    authorizer,
    limits: limitPolicy(config),
    settings: {
      idleSeconds: {
        default: config.AIRLOCK_SESSION_IDLE_SECONDS,
        ceiling: config.AIRLOCK_SESSION_MAX_IDLE_SECONDS,
      },
      lifetimeSeconds: {
        default: config.AIRLOCK_SESSION_LIFETIME_SECONDS,
        ceiling: config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS,
      },
      maxSessions: config.AIRLOCK_MAX_SESSIONS,
    },
    logger,
  });
  let closing = false;
  const app = await buildGateway({
    logger,
    queue,
    submitter,
    metrics,
    authorizer,
    sessions,
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
    store,
    egress,
    sessions,
    async close() {
      if (closing) return;
      closing = true;
      // Sessions first: a running cell is ended (and its request answered) before the server stops.
      await sessions.close();
      const grace = setTimeout(
        () => logger.warn('shutdown grace elapsed; canceling running executions'),
        config.AIRLOCK_SHUTDOWN_GRACE_MS,
      );
      grace.unref();
      await app.close();
      await queue.close();
      clearTimeout(grace);
      await registry.close();
      await egress?.close();
      store.close();
      await audit.close();
    },
  };
}
