// A worker's sessions (NATS mode): the embedded mode's Sessions, run in the worker process over its session
// backends, answering the calls gateways forward on `airlock.workers.<worker id>.sessions` (session-wire.ts).
// Session records go to the shared KV bucket (session-records.ts) with this worker as their host; snapshots
// and pause images to the Object Store (ObjectSnapshotStore), so another worker can restore them; a cell's
// record stays in this worker's memory store. A call marked `adopt` first takes over, by a compare-and-set on
// its record, a session whose worker is gone, paused on its pause image or its latest snapshot. Started by the
// worker process (services/worker); reads no environment. Must never answer a call without a value or a
// coded error, nor take over a session another worker took first.

import { join } from 'node:path';
import type { AuditSink } from '@airlock/audit';
import type { Config } from '@airlock/config';
import type { Logger } from '@airlock/logging';
import { AirlockError, type Execution, requestSchemasWithin } from '@airlock/protocol';
import type { TemplateRegistry } from '@airlock/sandbox';
import {
  EventingExecutionStore,
  EventingSessionStore,
  type LifecycleEvents,
  SqliteStore,
} from '@airlock/store';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createAuthorizer } from '../admission/authorizer-setup.ts';
import { startSessionBackends } from '../session-backends.ts';
import type { Entry } from '../session-entry.ts';
import { limitPolicy, sessionSettings, snapshotStoreOptions } from '../session-settings.ts';
import { Sessions } from '../sessions.ts';
import { ObjectSnapshotStore } from '../snapshots/object-snapshot-store.ts';
import { SnapshotSweeper } from '../snapshots/snapshot-sweeper.ts';
import { type Placement, SessionRecords } from './session-records.ts';
import {
  decodeCall,
  encodeError,
  encodeValue,
  fromBase64,
  headersOf,
  type SessionCall,
  sessionsSubject,
  toBase64,
  tooLarge,
} from './session-wire.ts';

export interface SessionHostDeps {
  config: Config;
  logger: Logger;
  nc: NatsConnection;
  /** This worker's heartbeat id: the session records name it as their host. */
  workerId: string;
  /** The worker's audit log (its mirror). */
  audit: AuditSink;
  /** Where session, cell and snapshot lifecycle events go (the shared lifecycle stream). */
  events: LifecycleEvents;
  /** The templates sessions may start from. */
  templates: TemplateRegistry | undefined;
}

export interface SessionHost {
  /**
   * Stops answering calls, pauses the sessions that can be paused (another worker resumes them), closes the
   * rest (`shutdown`) and the backends.
   */
  close(): Promise<void>;
}

/** How long a finished cell's result is kept for the gateway that waits for it. */
const CELL_KEEP_MS = 60_000;

export async function startSessionHost(deps: SessionHostDeps): Promise<SessionHost> {
  const { config, logger, nc, workerId } = deps;
  await using stack = new AsyncDisposableStack();
  const authorizer = await createAuthorizer(config);
  const records = await SessionRecords.open({
    connection: nc,
    maxAgeMs: (config.AIRLOCK_RETENTION_SECONDS + config.AIRLOCK_SESSION_MAX_LIFETIME_SECONDS) * 1000,
  });
  const cells = SqliteStore.open({
    path: ':memory:',
    retentionMs: config.AIRLOCK_RETENTION_SECONDS * 1000,
    retainedBytes: config.AIRLOCK_RETAINED_BYTES,
  });
  stack.defer(() => cells.close());
  const snapshots = await ObjectSnapshotStore.open({
    connection: nc,
    localRoot: join(config.AIRLOCK_DATA_DIR, 'worker-snapshots', workerId),
    events: deps.events,
    ...snapshotStoreOptions(config),
  });
  const sweeper = new SnapshotSweeper({
    store: snapshots,
    audit: deps.audit,
    logger,
    intervalMs: config.AIRLOCK_SNAPSHOT_SWEEP_MS,
  });
  stack.defer(() => sweeper.close());
  const backends = await startSessionBackends(config, logger, [], deps.templates);
  const limits = limitPolicy(config);
  const sessions = new Sessions({
    backends,
    store: {
      executions: new EventingExecutionStore(cells.executions, deps.events),
      sessions: new EventingSessionStore(records, deps.events),
    },
    audit: deps.audit,
    authorizer,
    limits,
    settings: sessionSettings(config),
    snapshots,
    logger,
    beforeRecord: (entry) => records.place(entry.session.id, placementOf(entry, workerId)),
  });
  stack.defer(() => sessions.close());
  // Stopping (after the subscription): sessions that can be paused are, and another worker resumes them.
  stack.defer(async () => {
    const handed = await sessions.handOver();
    if (handed > 0) logger.info({ sessions: handed }, 'paused sessions handed over to the fleet');
  });
  const host = new CallAnswers({
    sessions,
    records,
    workerId,
    schemas: requestSchemasWithin(limits.ceilings),
    logger,
    maxPayload: () => nc.info?.max_payload ?? Number.POSITIVE_INFINITY,
  });
  const subscription: Subscription = nc.subscribe(sessionsSubject(workerId), {
    callback: (error, msg) => {
      if (!error) void host.answer(msg);
    },
  });
  stack.defer(() => subscription.unsubscribe());
  const started = stack.move();
  return { close: () => started.disposeAsync() };
}

/** Where a session held here lives, as its record says it. */
function placementOf(entry: Entry, workerId: string): Placement {
  return {
    worker: workerId,
    idle_ms: entry.idleMs,
    lifetime_ends_ms: entry.lifetimeEndsMs,
    paused: entry.paused,
    latest_snapshot: entry.latestSnapshot,
    resume_on_worker_loss: entry.resumeOnWorkerLoss,
  };
}

/** Answers the calls of one worker: decode, take over when asked, run on the Sessions, reply. */
interface CallAnswersDeps {
  sessions: Sessions;
  records: SessionRecords;
  workerId: string;
  /** The request schemas the gateway validated with, checked again here. */
  schemas: ReturnType<typeof requestSchemasWithin>;
  logger: Logger;
  /** The largest message the NATS server takes (an answer beyond it is refused, coded). */
  maxPayload: () => number;
}

class CallAnswers {
  readonly #deps: CallAnswersDeps;
  /** Cells started here, by id, until a while after they finished. */
  readonly #cells = new Map<string, Promise<Execution>>();

  constructor(deps: CallAnswersDeps) {
    this.#deps = deps;
  }

  async answer(msg: Msg): Promise<void> {
    let reply: string;
    try {
      const call = decodeCall(msg.data);
      if (call.adopt) await this.#adopt(call);
      reply = encodeValue(await this.#run(call));
      const max = this.#deps.maxPayload();
      if (Buffer.byteLength(reply) > max) reply = encodeError(tooLarge('answer', max));
    } catch (error) {
      const coded = error instanceof AirlockError ? error : new AirlockError('internal_error');
      if (coded.status >= 500) this.#deps.logger.error({ err: error }, 'a session call failed');
      reply = encodeError(coded);
    }
    try {
      msg.respond(reply);
    } catch {
      // The connection is gone: the gateway's request times out and it routes again.
    }
  }

  /** Takes over the session of a lost worker, paused on its pause image or on its latest snapshot. */
  async #adopt(call: SessionCall): Promise<void> {
    const found = await this.#deps.records.read(call.id ?? '');
    if (!found) return; // answered by the call itself: not found
    const { hosted, revision } = found;
    if (hosted.session.status === 'closed' || hosted.worker === this.#deps.workerId) return;
    const image = hosted.paused ?? (hosted.resume_on_worker_loss ? hosted.latest_snapshot : null);
    if (image === null) return;
    const moved = {
      ...hosted,
      worker: this.#deps.workerId,
      paused: image,
      session: { ...hosted.session, status: 'paused' as const },
    };
    if (!(await this.#deps.records.replace(moved, revision))) {
      throw new AirlockError('session_busy', `session ${hosted.session.id} is moving to another worker`, {
        retryAfter: 1,
      });
    }
    await this.#deps.sessions.adopt(headersOf(call), hosted.session, {
      idleMs: hosted.idle_ms,
      lifetimeEndsMs: hosted.lifetime_ends_ms,
      image,
      resumeOnWorkerLoss: hosted.resume_on_worker_loss,
      latestSnapshot: hosted.latest_snapshot,
    });
    this.#deps.logger.info({ session: hosted.session.id, image }, 'took over a session of a lost worker');
  }

  async #run(call: SessionCall): Promise<unknown> {
    const { sessions } = this.#deps;
    const headers = headersOf(call);
    const id = call.id ?? '';
    const args = call.args ?? {};
    const path = String(args.path ?? '');
    switch (call.op) {
      case 'create':
        return sessions.create(headers, this.#deps.schemas.session.parse(args.request));
      case 'get':
        return sessions.get(headers, id);
      case 'remove':
        return sessions.remove(headers, id);
      case 'update':
        return sessions.update(headers, id, args.update as Parameters<Sessions['update']>[2]);
      case 'startCell': {
        const { running, done } = await sessions.startCell(
          headers,
          id,
          this.#deps.schemas.cell.parse(args.cell),
        );
        this.#cells.set(running.id, done);
        const forget = () => setTimeout(() => this.#cells.delete(running.id), CELL_KEEP_MS).unref();
        done.then(forget, forget);
        return running;
      }
      case 'awaitCell': {
        const done = this.#cells.get(id);
        if (!done) throw new AirlockError('not_found', `no running cell ${JSON.stringify(id.slice(0, 64))}`);
        return done;
      }
      case 'snapshot':
        return sessions.snapshot(headers, id);
      case 'pause':
        return sessions.pause(headers, id);
      case 'resume':
        return sessions.resume(headers, id);
      case 'filePut':
        return sessions.files.put(headers, id, path, fromBase64(args.content));
      case 'fileGet': {
        const { file, content } = await sessions.files.get(headers, id, path);
        return { file, content: toBase64(content) };
      }
      case 'fileList':
        return sessions.files.list(headers, id, args.path === undefined ? undefined : path);
      case 'fileRemove':
        return sessions.files.remove(headers, id, path);
      case 'snapshotList':
        return sessions.snapshots.list(headers);
      case 'snapshotGet':
        return sessions.snapshots.get(headers, id);
      case 'snapshotRemove':
        return sessions.snapshots.remove(headers, id);
    }
  }
}
