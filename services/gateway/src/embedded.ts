// The embedded deployment: gateway, in-process queue, worker and sandboxes (isolate, docker, gvisor) in one process.
// Used by main.ts and by tests that need the whole service; it binds no port (the caller listens). Its parts
// start in order on one cleanup stack: a failed start releases what had started, close() releases all in
// reverse (sessions first, then the server, the queue, the sandboxes, egress, the audit log).

import { join } from 'node:path';
import { type FileAuditLog, finishedEntry, openAuditLog } from '@airlock/audit';
import type { Config } from '@airlock/config';
import { boundCredentialNames, type EmbeddedEgress, startEmbeddedEgress } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import { MemoryJobQueue } from '@airlock/queue';
import {
  type Authorizer,
  createAuthorizer,
  FileSnapshotStore,
  limitPolicy,
  Sessions,
  type SnapshotStore,
  SnapshotSweeper,
  sessionSettings,
  snapshotStoreOptions,
  startSessionBackends,
} from '@airlock/sessions';
import {
  EventingExecutionStore,
  EventingSessionStore,
  type ExecutionStore,
  LifecycleEventFeed,
  type SessionStore,
  type SqliteStore,
} from '@airlock/store';
import { createExecutionWorker, type SandboxRegistry, startSandboxes, workerStatus } from '@airlock/worker';
import Dockerode from 'dockerode';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from './app.ts';
import { openStore, recoverStore } from './embedded-store.ts';
import { storeListing } from './listing/store-listing.ts';
import { createMetrics } from './metrics.ts';
import { gatewayReadiness } from './readiness.ts';
import { auditLogOptions, compileWallTime, requestLimits, VERSION } from './settings.ts';
import { ExecutionSubmitter } from './submission.ts';
import { createWebhooks } from './webhooks/webhook-setup.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

export interface EmbeddedService {
  app: FastifyInstance;
  authorizer: Authorizer;
  queue: MemoryJobQueue;
  registry: SandboxRegistry;
  audit: FileAuditLog;
  /** Executions (with output and replays) and sessions on disk, in AIRLOCK_DATA_DIR. */
  store: SqliteStore;
  /** The egress network and proxy, when AIRLOCK_EGRESS=on and Docker is there. */
  egress: EmbeddedEgress | undefined;
  sessions: Sessions;
  /** Lifecycle events: publish one, or subscribe to the ones this process publishes (webhooks). */
  events: LifecycleEventFeed;
  /** Callbacks and tenant webhooks (in memory: pending deliveries do not survive a restart). */
  webhooks: Webhooks;
  /** Stops taking requests, drains and cancels work, stops sandboxes, closes the audit log. */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Environment for the development secrets provider (egress and webhooks without AIRLOCK_SECRETS_DIR). */
  secretsEnv?: Readonly<Record<string, string | undefined>>;
  /** Service log lines dropped so far, for /metrics (`airlock_log_write_errors_total`). */
  logWriteErrors?: () => number;
  /**
   * The last start-up step, run once every part has started: a throw fails the start there, and everything
   * started is released. For tests that show a failed start leaves nothing behind.
   */
  startupCheck?: () => void | Promise<void>;
}

/** The egress network, proxy and firewall, or undefined (with a warning) when Docker is missing. */
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
  options: EmbeddedOptions = {},
): Promise<EmbeddedService> {
  await using stack = new AsyncDisposableStack();
  const startedAt = new Date();
  const authorizer = await createAuthorizer(config);
  const audit = await openAuditLog(stack, auditLogOptions(config, logger));
  // The store, then crash recovery: before any sandbox starts and before the gateway accepts anything.
  const store = openStore(config, logger);
  stack.defer(() => store.close());
  // Every write of an execution or session goes through these, so each state change is one lifecycle event.
  const events = new LifecycleEventFeed(store.events, (err, event) =>
    logger.error({ err, event: event.type, subject: event.subject }, 'storing a lifecycle event failed'),
  );
  const records = {
    executions: new EventingExecutionStore(store.executions, events),
    sessions: new EventingSessionStore(store.sessions, events),
  };
  const retries = await recoverStore(config, logger, records, audit);
  const egress = await startEgress(config, logger, options.secretsEnv);
  if (egress) stack.defer(() => egress.close()); // after the sandboxes: their containers are gone first
  const registry = await startSandboxes(config, logger, egress?.network);
  stack.defer(() => registry.close());
  let graceWarning: NodeJS.Timeout | undefined;
  stack.defer(() => clearTimeout(graceWarning));
  const queue = new MemoryJobQueue({
    concurrency: config.AIRLOCK_CONCURRENCY,
    maxQueued: config.AIRLOCK_MAX_QUEUED,
    store: records.executions,
    onStoreError: (err, during) => logger.error({ err, during }, 'execution store write failed'),
  });
  stack.defer(() => queue.close());
  const metrics = createMetrics(() => queue.stats(), {
    auditHealthy: () => audit.health.healthy,
    storeHealthy: () => store.health.healthy,
    pools: () => registry.pools(),
    logWriteErrors: options.logWriteErrors ?? (() => 0),
  });
  const webhooks = await createWebhooks(config, logger, options.secretsEnv);
  stack.defer(() => webhooks.close());
  // Deliveries carry the feed's own events (the ids and types `GET /v1/events` lists).
  webhooks.follow(events);
  const submitter = new ExecutionSubmitter({
    queue,
    registry,
    audit,
    authorizer,
    limits: limitPolicy(config),
    compileWallTime: compileWallTime(config),
    egress: egress !== undefined,
    credentials: egress ? await boundCredentialNames(config) : [],
    webhooks,
    onRejected: (code) => metrics.observeRejected(code),
    onAuditError: (err) => logger.error({ err }, 'audit append failed'),
  });
  queue.onFinished((execution) => {
    submitter.finished(execution);
    metrics.observeFinished(execution);
    audit
      .append(finishedEntry(execution))
      .catch((err: unknown) => logger.error({ err }, 'audit append failed'));
  });
  // A tenant's executions beyond its max_concurrent wait in the queue, in their place.
  queue.gateStarts((execution) => submitter.mayStart(execution));
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
  const snapshots = new FileSnapshotStore(join(config.AIRLOCK_DATA_DIR, 'snapshots'), {
    events,
    ...snapshotStoreOptions(config),
  });
  const sweeper = new SnapshotSweeper({
    store: snapshots,
    audit,
    logger,
    intervalMs: config.AIRLOCK_SNAPSHOT_SWEEP_MS,
  });
  stack.defer(() => sweeper.close());
  const sessions = buildSessions(
    await startSessionBackends(config, logger, [], registry.templateRegistry),
    config,
    logger,
    audit,
    authorizer,
    records,
    webhooks,
    snapshots,
  );
  let sessionsClosed: Promise<void> | undefined;
  const closeSessions = () => (sessionsClosed ??= sessions.close());
  stack.defer(closeSessions);
  let closing = false;
  const app = await buildGateway({
    logger,
    queue,
    submitter,
    metrics,
    authorizer,
    sessions,
    listing: storeListing(store, records, events),
    webhooks,
    runtimes: () => registry.runtimes(),
    templates: () => registry.templates(),
    ready: () => gatewayReadiness(closing, audit, store),
    limits: requestLimits(config),
    version: VERSION,
    auditLogPath: config.AIRLOCK_AUDIT_LOG,
    workers: async () => [
      {
        ...workerStatus({
          id: 'embedded',
          startedAt,
          registry,
          running: () => queue.stats().running,
          capacity: config.AIRLOCK_CONCURRENCY,
        }),
        ttl_ms: config.AIRLOCK_WORKER_TTL_MS,
        last_seen: new Date().toISOString(),
      },
    ],
  });
  stack.defer(() => app.close());
  // The first release: not ready any more, and sessions closed, so a running cell is ended (and its request
  // answered) before the server stops; then the server and the queue get the shutdown grace.
  stack.defer(async () => {
    closing = true;
    await closeSessions();
    graceWarning = setTimeout(
      () => logger.warn('shutdown grace elapsed; canceling running executions'),
      config.AIRLOCK_SHUTDOWN_GRACE_MS,
    );
    graceWarning.unref();
  });
  await options.startupCheck?.();
  const started = stack.move();
  let closed: Promise<void> | undefined;
  return {
    app,
    authorizer,
    queue,
    registry,
    audit,
    store,
    egress,
    sessions,
    events,
    webhooks,
    close() {
      closed ??= started.disposeAsync();
      return closed;
    },
  };
}

/** Sessions over their backends (closing them closes the backends too). */
function buildSessions(
  backends: Awaited<ReturnType<typeof startSessionBackends>>,
  config: Config,
  logger: Logger,
  audit: FileAuditLog,
  authorizer: Authorizer,
  store: { executions: ExecutionStore; sessions: SessionStore },
  webhooks: Webhooks,
  snapshots: SnapshotStore,
): Sessions {
  return new Sessions({
    webhooks,
    backends,
    store,
    audit,
    authorizer,
    limits: limitPolicy(config),
    settings: sessionSettings(config),
    snapshots,
    logger,
  });
}
