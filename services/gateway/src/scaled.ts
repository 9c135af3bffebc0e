// The scaled-out gateway (AIRLOCK_QUEUE=nats): REST and the NATS `airlock` service in front of the JetStream
// queue, with no sandboxes and no local worker — `services/worker` processes run the jobs. Any number of
// these gateways share one NATS JetStream; each keeps its own audit log (accepted, rejected, canceled, and
// `finished` for the terminal transitions it makes itself, such as a cancel of a queued job), copied to the
// shared audit stream; the console's figures are the workers' (their heartbeats), the same on every gateway.
// Egress: the workers run the proxies next to their sandboxes; AIRLOCK_EGRESS=on here says they do, so egress
// requests are accepted (and credentials checked against AIRLOCK_EGRESS_CREDENTIALS_FILE's names). Templates:
// those the live workers announce in their heartbeats (nats/fleet-templates.ts). Sessions: hosted by the
// workers, their records in the `airlock-sessions` bucket, each call forwarded (nats/forwarded-sessions.ts). Its parts
// start in order on one cleanup stack: a failed start releases what had started, close() releases all in
// reverse. Binds no port (main.ts listens) and reads no environment.

import { finishedEntry, openAuditLog } from '@airlock/audit';
import type { Config } from '@airlock/config';
import { boundCredentialNames } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import { requestSchemasWithin } from '@airlock/protocol';
import { connectNats, JetStreamJobQueue, WorkerRoster } from '@airlock/queue';
import { createAuthorizer, limitPolicy, SessionRecords } from '@airlock/sessions';
import { EventingSessionStore, LifecycleEventFeed } from '@airlock/store';
import { openAuditMirror } from '@airlock/worker';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from './app.ts';
import { CursorSeal } from './listing/cursor-seal.ts';
import { createMetrics } from './metrics.ts';
import { AcceptedHere } from './nats/accepted-here.ts';
import { startExecuteService } from './nats/execute-service.ts';
import { fleetRegistry } from './nats/fleet-registry.ts';
import { FleetTemplates } from './nats/fleet-templates.ts';
import { ForwardedSessions } from './nats/forwarded-sessions.ts';
import { SessionRouter } from './nats/session-router.ts';
import { MAX_RECORDS } from './operator/execution-audit.ts';
import { gatewayReadiness } from './readiness.ts';
import { auditLogOptions, compileWallTime, requestLimits, VERSION } from './settings.ts';
import { ExecutionSubmitter } from './submission.ts';
import { createWebhooks } from './webhooks/webhook-setup.ts';

/** How long a session call other than a cell may take on its worker (a start, a restore, a snapshot). */
const SESSION_CALL_TIMEOUT_MS = 300_000;

export interface ScaledGateway {
  app: FastifyInstance;
  queue: JetStreamJobQueue;
  /** Stops taking requests, stops the NATS service, closes queue, connection and audit log. Loses nothing accepted. */
  close(): Promise<void>;
}

export interface ScaledOptions {
  /** Service log lines dropped so far, for /metrics (`airlock_log_write_errors_total`). */
  logWriteErrors?: () => number;
  /** Environment for the development secrets provider (webhook signing secrets without AIRLOCK_SECRETS_DIR). */
  secretsEnv?: Readonly<Record<string, string | undefined>>;
}

export async function startScaled(
  config: Config,
  logger: Logger,
  options: ScaledOptions = {},
): Promise<ScaledGateway> {
  await using stack = new AsyncDisposableStack();
  const authorizer = await createAuthorizer(config);
  const audit = await openAuditLog(stack, auditLogOptions(config, logger));
  const nc = await connectNats({ servers: config.AIRLOCK_NATS_URL, name: 'airlock-gateway', stack });
  const onAuditError = (err: unknown) => logger.error({ err }, 'audit append failed');
  const queue = await JetStreamJobQueue.open({
    connection: nc,
    maxQueued: config.AIRLOCK_MAX_QUEUED,
    ackWaitMs: config.AIRLOCK_NATS_ACK_WAIT_MS,
    retentionMs: config.AIRLOCK_RETENTION_SECONDS * 1000,
    lifecycleRetentionMs: config.AIRLOCK_EVENTS_RETENTION_SECONDS * 1000,
    lifecycleRetainedBytes: config.AIRLOCK_EVENTS_RETAINED_BYTES,
    onError: (err, during) => logger.warn({ err, during }, 'queue recovered from an error'),
  });
  stack.defer(() => queue.close());
  // Each record is also copied to the audit stream, so every gateway shows one execution's records.
  const mirror = await openAuditMirror(nc, config, logger, audit, queue.instanceId);
  queue.onFinished((execution) => {
    mirror.audit.append(finishedEntry(execution)).catch(onAuditError);
  });
  const metrics = createMetrics(() => queue.stats(), {
    auditHealthy: () => audit.health.healthy,
    logWriteErrors: options.logWriteErrors ?? (() => 0),
  });
  const acceptedHere = new AcceptedHere({
    queue,
    onError: (err) => logger.warn({ err }, 'tracking accepted executions'),
  });
  stack.defer(() => acceptedHere.stop());
  const routesQueue = acceptedHere.trackingQueue();
  // The workers' heartbeats (GET /v1/workers); an entry that is not one is skipped and logged.
  const roster = await WorkerRoster.open({
    connection: nc,
    onError: (err, key) => logger.warn({ err, key }, 'skipped an entry of the workers bucket'),
  });
  // The templates the live workers announce: what a request's `template`, /v1/templates and MCP answer from.
  // Its own roster, silent about odd entries: it reads every second, and GET /v1/workers logs them already.
  const templates = await FleetTemplates.start({
    roster: await WorkerRoster.open({ connection: nc }),
    onError: (err) => logger.warn({ err }, 'reading the workers bucket for their templates failed'),
  });
  stack.defer(() => templates.stop());
  const registry = fleetRegistry(config.AIRLOCK_BACKENDS, templates);
  // Callbacks, deliveries and their log live in JetStream streams, and every gateway routes the shared
  // lifecycle stream: a callback accepted here is delivered after this gateway is gone.
  const webhooks = await createWebhooks(config, logger, options.secretsEnv, {
    nc,
    lifecycleStream: queue.lifecycleLog().stream,
  });
  stack.defer(() => webhooks.close());
  const submitter = new ExecutionSubmitter({
    queue: routesQueue,
    registry,
    audit: mirror.audit,
    authorizer,
    limits: limitPolicy(config),
    compileWallTime: compileWallTime(config),
    egress: config.AIRLOCK_EGRESS === 'on',
    credentials: config.AIRLOCK_EGRESS === 'on' ? await boundCredentialNames(config) : [],
    webhooks,
    onRejected: (code) => metrics.observeRejected(code),
    onAuditError,
  });
  acceptedHere.onFinished((execution) => {
    submitter.finished(execution);
    metrics.observeFinished(execution);
  });
  const service = await startExecuteService({
    nc,
    submitter,
    queue: routesQueue,
    logger,
    version: VERSION,
    maxWaitSeconds: config.AIRLOCK_MAX_WAIT_SECONDS,
    bodyLimitBytes: config.AIRLOCK_BODY_LIMIT_BYTES,
    schemas: requestSchemasWithin(limitPolicy(config).ceilings),
    maxInFlight: config.AIRLOCK_MAX_WATCHERS,
  });
  stack.defer(() => service.stop());
  const events = new LifecycleEventFeed(queue.lifecycleLog(), (err) =>
    logger.warn({ err }, 'storing a lifecycle event failed'),
  );
  // Sessions live on the workers: their records in a KV bucket every gateway reads, each call forwarded.
  const sessionRecords = await SessionRecords.open({
    connection: nc,
    maxAgeMs: (config.AIRLOCK_RETENTION_SECONDS + config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS) * 1000,
  });
  const forwardedSessions = new ForwardedSessions(
    new SessionRouter({
      nc,
      records: sessionRecords,
      eventing: new EventingSessionStore(sessionRecords, events),
      workers: () => roster.list(),
      authorizer,
      audit: mirror.audit,
      logger,
      callTimeoutMs: SESSION_CALL_TIMEOUT_MS,
    }),
    {
      maxFileBytes: config.AIRLOCK_SESSION_FILE_BYTES,
      cellTimeoutMs: config.AIRLOCK_MAX_WALL_TIME_MS + SESSION_CALL_TIMEOUT_MS,
      livenessMs: Math.max(250, Math.floor(config.AIRLOCK_WORKER_TTL_MS / 3)),
    },
  );
  let closing = false;
  const app = await buildGateway({
    logger,
    queue: routesQueue,
    submitter,
    metrics,
    authorizer,
    forwardedSessions,
    // Listing from the KV buckets every gateway shares, with the cursor key they share.
    listing: {
      cursors: new CursorSeal(await queue.cursorKey()),
      listExecutions: (tenant, query) => queue.list(tenant, query),
      listSessions: (tenant, query) => sessionRecords.listSessions(tenant, query),
      // The lifecycle stream every gateway and worker publishes to; streams poll it for other gateways' events.
      feed: { log: queue.lifecycleLog(), events },
    },
    webhooks,
    runtimes: () => registry.runtimes(),
    templates: () => templates.list(),
    ready: () =>
      nc.isClosed() ? { ready: false, reason: 'NATS connection closed' } : gatewayReadiness(closing, audit),
    limits: requestLimits(config),
    version: VERSION,
    auditLogPath: config.AIRLOCK_AUDIT_LOG,
    auditRecords: async (tenant, id) =>
      (await mirror.stream.read(tenant, id, MAX_RECORDS)).map(({ source, record }) => ({
        ...record,
        source,
      })),
    workers: () => roster.list(),
    // The charts count what the workers ran (their heartbeats), the same through every gateway.
    fleetStats: true,
  });
  stack.defer(() => app.close());
  stack.defer(() => {
    closing = true; // the first release: not ready any more
  });
  logger.info(
    { nats: config.AIRLOCK_NATS_URL, natsService: service.id, egress: config.AIRLOCK_EGRESS },
    'gateway on NATS, no local workers',
  );
  const started = stack.move();
  let closed: Promise<void> | undefined;
  return {
    app,
    queue,
    close() {
      closed ??= started.disposeAsync();
      return closed;
    },
  };
}
