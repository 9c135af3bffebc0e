// Options of the JetStream queue: each documented with its default, validated once, then frozen.
// Must never read the environment; the service's config layer passes values in.

import type { NatsConnection } from '@nats-io/transport-node';
import { describe, fn, integer } from '../option-checks.ts';

export interface JetStreamJobQueueOptions {
  /** An open connection; the queue never closes it (its owner does, after close()). */
  connection: NatsConnection;
  /**
   * Executions accepted and not yet finished (waiting or running, cluster-wide): the job stream's
   * `max_msgs`. A submit beyond it throws `queue_full`. The last queue opened sets it for everyone.
   * @default 10_000
   */
  maxQueued?: number;
  /**
   * Seconds a refused client is told to wait before retrying (`retryAfter` of `queue_full`).
   * @default 1
   */
  retryAfterSeconds?: number;
  /**
   * Executions this queue runs at once once a worker is attached (other queues on the same streams add theirs).
   * @default 4
   */
  concurrency?: number;
  /**
   * Milliseconds a delivered job may go without an ack or a heartbeat before JetStream redelivers it; a
   * redelivered job that was already running ends as `internal_error` / `worker lost`.
   * @default 30_000
   */
  ackWaitMs?: number;
  /**
   * Milliseconds between heartbeats (`+WPI`) for each running job; must be below ackWaitMs.
   * @default ackWaitMs / 3
   */
  heartbeatMs?: number;
  /**
   * Milliseconds an execution record, its idempotency key and its events are kept after their last change
   * (the KV bucket's and the event stream's max age). Must exceed the longest a job can wait plus run: a
   * record untouched for longer is forgotten, even if the job never finished.
   * @default 86_400_000 (one day)
   */
  retentionMs?: number;
  /**
   * Lifecycle events (the `<eventStream>_LIFECYCLE` stream) are kept this long, in milliseconds.
   * @default 604_800_000 (7 days)
   */
  lifecycleRetentionMs?: number;
  /**
   * Bytes of lifecycle events kept; over it the oldest go first.
   * @default 67_108_864 (64 MiB)
   */
  lifecycleRetainedBytes?: number;
  /**
   * Output events kept per execution for late watchers (older ones are dropped; state and result events
   * are kept).
   * @default 256
   */
  maxOutputEvents?: number;
  /**
   * Bytes of one output event at most; longer output is split into several events.
   * @default 8_192
   */
  outputChunkBytes?: number;
  /**
   * Milliseconds cancel() and close() wait for an aborted worker to return before finishing the execution as
   * canceled without it.
   * @default 10_000
   */
  cancelGraceMs?: number;
  /**
   * Milliseconds between checks for work a wake-up message did not announce (new tenants, jobs accepted
   * while this queue was disconnected), and between checks of the execution record by a waiter or a watcher
   * that has heard nothing.
   * @default 1_000
   */
  pollIntervalMs?: number;
  /**
   * Milliseconds between refreshes of the cluster-wide `queued` figure in stats(); 0 refreshes only on
   * refreshStats().
   * @default 5_000
   */
  statsIntervalMs?: number;
  /** Names of the JetStream assets, all under `airlock.` for subjects. */
  names?: Partial<QueueNameOptions>;
  /**
   * Whether this instance's worker has a template ready now: it takes jobs routed by a template (SubmitInput
   * `template`) only while this says so. Asked on every wake-up and pull of such a job, so keep it cheap.
   * @default () => true (every worker runs every template)
   */
  runsTemplate?: (template: string) => boolean;
  /**
   * Clock for timestamps.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Told about failures the queue recovered from on its own (lost connection, a malformed job message).
   * Must not throw.
   * @default undefined
   */
  onError?: (error: unknown, during: string) => void;
}

export interface QueueNameOptions {
  /** @default 'AIRLOCK_JOBS' */
  jobStream: string;
  /** @default 'AIRLOCK_EVENTS' */
  eventStream: string;
  /** @default 'airlock-executions' */
  bucket: string;
  /** Prefix of every subject the queue uses. @default 'airlock' */
  subjectPrefix: string;
}

export interface ResolvedJetStreamOptions {
  readonly connection: NatsConnection;
  readonly maxQueued: number;
  readonly retryAfterSeconds: number;
  readonly concurrency: number;
  readonly ackWaitMs: number;
  readonly heartbeatMs: number;
  readonly retentionMs: number;
  readonly maxOutputEvents: number;
  readonly lifecycleRetentionMs: number;
  readonly lifecycleRetainedBytes: number;
  readonly outputChunkBytes: number;
  readonly cancelGraceMs: number;
  readonly pollIntervalMs: number;
  readonly statsIntervalMs: number;
  readonly names: Readonly<QueueNameOptions>;
  readonly runsTemplate: (template: string) => boolean;
  readonly now: () => Date;
  readonly onError: (error: unknown, during: string) => void;
}

/** Validates the options; errors quote the bad value and its type. */
export function resolveJetStreamOptions(options: JetStreamJobQueueOptions): ResolvedJetStreamOptions {
  if (typeof options.connection?.publish !== 'function') {
    throw new TypeError(
      `Expected \`connection\` to be a NatsConnection, got ${describe(options.connection)}`,
    );
  }
  const ackWaitMs = integer('ackWaitMs', options.ackWaitMs ?? 30_000, 1_000);
  const heartbeatMs = integer('heartbeatMs', options.heartbeatMs ?? Math.floor(ackWaitMs / 3), 10);
  if (heartbeatMs >= ackWaitMs) {
    throw new TypeError(
      `Expected \`heartbeatMs\` to be below ackWaitMs (${ackWaitMs}), got \`${heartbeatMs}\``,
    );
  }
  const onError = options.onError ?? (() => {});
  return Object.freeze({
    connection: options.connection,
    maxQueued: integer('maxQueued', options.maxQueued ?? 10_000, 1),
    retryAfterSeconds: integer('retryAfterSeconds', options.retryAfterSeconds ?? 1, 1),
    concurrency: integer('concurrency', options.concurrency ?? 4, 1),
    ackWaitMs,
    heartbeatMs,
    retentionMs: integer('retentionMs', options.retentionMs ?? 86_400_000, 1_000),
    // The state subject of an execution holds up to three events, under the same per-subject limit.
    maxOutputEvents: integer('maxOutputEvents', options.maxOutputEvents ?? 256, 3),
    lifecycleRetentionMs: integer('lifecycleRetentionMs', options.lifecycleRetentionMs ?? 604_800_000, 1_000),
    lifecycleRetainedBytes: integer(
      'lifecycleRetainedBytes',
      options.lifecycleRetainedBytes ?? 67_108_864,
      65_536,
    ),
    outputChunkBytes: integer('outputChunkBytes', options.outputChunkBytes ?? 8_192, 16),
    cancelGraceMs: integer('cancelGraceMs', options.cancelGraceMs ?? 10_000, 0),
    pollIntervalMs: integer('pollIntervalMs', options.pollIntervalMs ?? 1_000, 10),
    statsIntervalMs: integer('statsIntervalMs', options.statsIntervalMs ?? 5_000, 0),
    names: Object.freeze(resolveNames(options.names ?? {})),
    runsTemplate: fn('runsTemplate', options.runsTemplate ?? (() => true)),
    now: fn('now', options.now ?? (() => new Date())),
    onError: fn('onError', onError),
  });
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

function resolveNames(names: Partial<QueueNameOptions>): QueueNameOptions {
  const resolved = {
    jobStream: names.jobStream ?? 'AIRLOCK_JOBS',
    eventStream: names.eventStream ?? 'AIRLOCK_EVENTS',
    bucket: names.bucket ?? 'airlock-executions',
    subjectPrefix: names.subjectPrefix ?? 'airlock',
  };
  for (const key of ['jobStream', 'eventStream', 'bucket'] as const) {
    if (typeof resolved[key] !== 'string' || !STREAM_NAME.test(resolved[key])) {
      throw new TypeError(
        `Expected \`names.${key}\` to match ${STREAM_NAME}, got ${describe(resolved[key])}`,
      );
    }
  }
  if (typeof resolved.subjectPrefix !== 'string' || !SUBJECT_PREFIX.test(resolved.subjectPrefix)) {
    throw new TypeError(
      `Expected \`names.subjectPrefix\` to be dot-separated tokens, got ${describe(resolved.subjectPrefix)}`,
    );
  }
  return resolved;
}
