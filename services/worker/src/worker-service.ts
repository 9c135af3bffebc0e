// A worker process's parts, wired: its own audit log (locked to this process), the sandboxes, a NATS
// connection and the JetStream queue it consumes from with AIRLOCK_CONCURRENCY slots. It writes `started`
// for each job it runs and `finished` for each terminal transition it makes (a run, a worker-lost verdict, a
// shutdown cancel). With AIRLOCK_EGRESS=on it also runs this host's egress network and proxy; with
// AIRLOCK_EGRESS=remote it uses this host's standalone proxy over NATS (worker-egress.ts). It announces itself
// in the workers bucket every third of AIRLOCK_WORKER_TTL_MS (GET /v1/workers) with the runs it finished,
// says `draining` there as soon as it begins to stop, takes the jobs that need a template only while that
// template is ready here, and copies each execution audit record to the audit
// stream (audit-mirror.ts). The parts start in
// order on one cleanup stack: a failed start releases what had started, close() releases all in reverse.
// Starts no listener and reads no environment: main.ts parses the config and passes it in.
// Must never run a job without its sandbox registry, and never close the connection before the queue.

import { type AuditSink, finishedEntry, openAuditLog } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { connectNats, JetStreamJobQueue, WorkerHeartbeat } from '@airlock/queue';
import { LifecycleEventFeed, type LifecycleEvents } from '@airlock/store';
import type { NatsConnection } from '@nats-io/transport-node';
import { openAuditMirror } from './audit-mirror.ts';
import type { SandboxRegistry } from './backends.ts';
import { createExecutionWorker } from './execution-worker.ts';
import { RunStats } from './run-stats.ts';
import { startSandboxes } from './sandbox-setup.ts';
import { startWorkerEgress, type WorkerEgress } from './worker-egress.ts';
import { workerStatus } from './worker-status.ts';

export interface WorkerService {
  /** The queue instance id recorded as `runner` in the executions this process runs. */
  readonly instanceId: string;
  readonly queue: JetStreamJobQueue;
  readonly registry: SandboxRegistry;
  /** This host's egress network and proxy (AIRLOCK_EGRESS=on), or its standalone proxy's (remote). */
  readonly egress: WorkerEgress | undefined;
  /**
   * Stops taking jobs, lets running ones finish for up to AIRLOCK_SHUTDOWN_GRACE_MS, cancels the rest, then
   * releases the rest in reverse order of the start (sandboxes, egress, NATS connection, audit log).
   */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Environment for the development secrets provider (egress without AIRLOCK_SECRETS_DIR). */
  secretsEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Hosts sessions on this worker (@airlock/sessions' session host, passed in by main.ts): started once the
   * queue is up, closed before it drains. @default no sessions here
   */
  sessionHost?: (parts: SessionHostParts) => Promise<{ close(): Promise<void> }>;
}

/** What a session host is given of the worker: its connection, id, audit log, events and templates. */
export interface SessionHostParts {
  nc: NatsConnection;
  workerId: string;
  audit: AuditSink;
  events: LifecycleEvents;
  templates: SandboxRegistry['templateRegistry'];
}

export async function startWorker(
  config: Config,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<WorkerService> {
  await using stack = new AsyncDisposableStack();
  const startedAt = new Date();
  const audit = await openAuditLog(stack, {
    path: config.AIRLOCK_AUDIT_LOG,
    fsync: config.AIRLOCK_AUDIT_FSYNC,
  });
  // Connected before egress: AIRLOCK_EGRESS=remote opens and closes runs over it, until the sandboxes are gone.
  const nc = await connectNats({ servers: config.AIRLOCK_NATS_URL, name: 'airlock-worker', stack });
  watchConnection(nc, logger);
  const egress = await startWorkerEgress(config, logger, options.secretsEnv, nc);
  if (egress) stack.defer(() => egress.close()); // after the sandboxes: their containers are gone first
  const registry = await startSandboxes(config, logger, egress?.network);
  stack.defer(() => registry.close());
  const onAuditError = (err: unknown) => logger.error({ err }, 'audit append failed');
  const heartbeat = await WorkerHeartbeat.open({
    connection: nc,
    ttlMs: config.AIRLOCK_WORKER_TTL_MS,
    onError: heartbeatErrors(logger),
  });
  // Released after the queue's drain: the worker stays listed while its last jobs finish.
  stack.defer(() => heartbeat.stop());
  const queue = await JetStreamJobQueue.open({
    connection: nc,
    maxQueued: config.AIRLOCK_MAX_QUEUED,
    concurrency: config.AIRLOCK_CONCURRENCY,
    ackWaitMs: config.AIRLOCK_NATS_ACK_WAIT_MS,
    retentionMs: config.AIRLOCK_RETENTION_SECONDS * 1000,
    lifecycleRetentionMs: config.AIRLOCK_EVENTS_RETENTION_SECONDS * 1000,
    lifecycleRetainedBytes: config.AIRLOCK_EVENTS_RETAINED_BYTES,
    // Jobs that need a template come only while it is ready here; others wait for a worker that has it.
    runsTemplate: (name) => registry.templateRegistry?.get(name)?.state === 'ready',
    onError: (err, during) => logger.warn({ err, during }, 'queue recovered from an error'),
  });
  stack.defer(() => queue.drain(config.AIRLOCK_SHUTDOWN_GRACE_MS));
  // The first release: the heartbeat says `draining` at once, while the drain lets the running jobs finish.
  let draining = false;
  stack.defer(async () => {
    draining = true;
    await heartbeat.beat();
  });
  const mirror = await openAuditMirror(nc, config, logger, audit, queue.instanceId);
  const runStats = new RunStats();
  queue.onFinished((execution) => {
    runStats.observe(execution);
    mirror.audit.append(finishedEntry(execution)).catch(onAuditError);
  });
  if (options.sessionHost) {
    const events = new LifecycleEventFeed(queue.lifecycleLog(), (err) =>
      logger.warn({ err }, 'storing a lifecycle event failed'),
    );
    const host = await options.sessionHost({
      nc,
      workerId: queue.instanceId,
      audit: mirror.audit,
      events,
      templates: registry.templateRegistry,
    });
    stack.defer(() => host.close());
  }
  queue.consume(
    createExecutionWorker({
      registry,
      audit: mirror.audit,
      onAuditError,
      ...(egress ? { egress: egress.broker } : {}),
    }),
  );
  await heartbeat.start(() =>
    workerStatus({
      id: queue.instanceId,
      startedAt,
      registry,
      running: () => queue.stats().running,
      capacity: config.AIRLOCK_CONCURRENCY,
      draining: () => draining,
      stats: () => runStats.snapshot(),
    }),
  );
  const started = stack.move();
  let closed: Promise<void> | undefined;
  return {
    instanceId: queue.instanceId,
    queue,
    registry,
    egress,
    close() {
      closed ??= started.disposeAsync();
      return closed;
    },
  };
}

/** Logs heartbeats that could not be written, at most once a minute (the next beat retries). */
function heartbeatErrors(logger: Logger): (err: unknown) => void {
  let failing = false;
  return (err) => {
    if (failing) return;
    failing = true;
    logger.warn({ err }, 'worker heartbeat not written: gateways may stop listing this worker');
    setTimeout(() => (failing = false), 60_000).unref();
  };
}

/** Logs the connection's ups and downs, so an operator sees a nats-server outage and the recovery. */
function watchConnection(nc: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        logger.warn({ nats: status.type, server: status.server }, 'nats connection');
      }
    }
  })().catch(() => {});
}
