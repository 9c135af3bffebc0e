// The sessions of every tenant, as the routes use them: open, read, update and close; run cells one at a time;
// the files API; snapshot, pause and resume. Each concept lives in its own file (opening, cells, the open
// sessions and their expiry, snapshots); this class wires them and answers for the caller's session only.
// Must never show a session to another tenant, nor keep a sandbox of a closed session.

import { sessionSnapshotEntry } from '@airlock/audit';
import type {
  BackendName,
  Caller,
  CellRequest,
  Execution,
  ExecutionEvent,
  Session,
  SessionRequest,
  SessionUpdate,
  Snapshot,
} from '@airlock/protocol';
import { AirlockError } from '@airlock/protocol';
import type { SessionBackend, SessionFiles } from '@airlock/sandbox';
import { OpenSessions } from './open-sessions.ts';
import { seconds } from './session-bounds.ts';
import { SessionCells } from './session-cells.ts';
import type { SessionsDeps } from './session-deps.ts';
import { type Entry, expiresAtMs, iso, messageOf } from './session-entry.ts';
import { SessionFileAccess } from './session-file-access.ts';
import { SessionOpening } from './session-opening.ts';
import { SessionSnapshots } from './session-snapshots.ts';
import { Snapshots } from './snapshots/snapshots.ts';

export type { SessionSettings, SessionsDeps } from './session-deps.ts';

/** What the session, files and snapshot routes use: the sessions here, or (NATS) those a worker hosts. */
export type SessionsApi = Pick<
  Sessions,
  'create' | 'get' | 'remove' | 'update' | 'startCell' | 'snapshot' | 'pause' | 'resume'
> & {
  readonly files: Pick<SessionFileAccess, 'maxFileBytes' | 'put' | 'get' | 'list' | 'remove'>;
  readonly snapshots: Pick<Snapshots, 'list' | 'get' | 'remove'>;
};

/** What a worker taking over a session knows of it beside its record (session-host's record in the KV). */
export interface AdoptedSession {
  idleMs: number;
  lifetimeEndsMs: number;
  /** The image it is paused on: its pause image, or its latest snapshot. */
  image: string;
  resumeOnWorkerLoss: boolean;
  latestSnapshot: string | null;
}

export class Sessions {
  readonly #deps: SessionsDeps;
  readonly #open: OpenSessions;
  readonly #opening: SessionOpening;
  readonly #cells: SessionCells;
  #closing = false;

  /** The files API of the open sessions. */
  readonly files: SessionFileAccess;
  /** Snapshot, pause and resume of the open sessions; fork images. */
  readonly #checkpoints: SessionSnapshots;
  /** The snapshots of every tenant (the snapshot routes). */
  readonly snapshots: Snapshots;

  constructor(deps: SessionsDeps) {
    this.#deps = deps;
    this.files = new SessionFileAccess({
      sessions: this,
      audit: deps.audit,
      maxFileBytes: deps.settings.fileBytes ?? 8 * 1024 * 1024,
    });
    this.snapshots = new Snapshots(deps.authorizer, deps.snapshots, deps.audit, deps.logger);
    const open = new OpenSessions({
      audit: deps.audit,
      authorizer: deps.authorizer,
      store: deps.store,
      logger: deps.logger,
      ...(deps.beforeRecord ? { beforeRecord: deps.beforeRecord } : {}),
      dropPauseImage: (entry) => this.#checkpoints.dropPauseImage(entry),
      pauseIdle: (entry) => this.#pauseIdle(entry),
      sweepMs: deps.settings.sweepMs ?? 1000,
    });
    this.#open = open;
    this.#checkpoints = new SessionSnapshots({
      store: deps.snapshots,
      authorizer: deps.authorizer,
      backends: deps.backends,
      attach: (entry, lease) => open.attach(entry, lease),
      close: (entry) => open.close(entry, 'interpreter_exited'),
      logger: deps.logger,
    });
    this.#opening = new SessionOpening({
      deps,
      open,
      checkpoints: this.#checkpoints,
      closing: () => this.#closing,
    });
    this.#cells = new SessionCells({
      deps,
      open,
      resumePaused: (entry, caller) => this.#resumePaused(entry, caller),
    });
  }

  create(headers: Record<string, unknown>, request: SessionRequest): Promise<Session> {
    return this.#opening.create(headers, request);
  }

  async get(headers: Record<string, unknown>, id: string): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const found = await this.#open.find(caller, id);
    return { ...(found.entry?.session ?? found.session) };
  }

  /** Closes the session (destroying its sandbox before answering); a closed session is returned as it is. */
  async remove(headers: Record<string, unknown>, id: string): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session } = await this.#open.find(caller, id);
    if (!entry) return session;
    await this.#open.close(entry, 'deleted');
    return { ...entry.session };
  }

  /**
   * New idle timeout and/or lifetime for an open session, refused above the server ceilings like at open; the
   * lifetime counts from the session's creation. Answers the session with its new `expires_at`.
   */
  async update(headers: Record<string, unknown>, id: string, update: SessionUpdate): Promise<Session> {
    const { entry } = await this.#open.openEntry(headers, id);
    const session = entry.session;
    const { settings } = this.#deps;
    if (update.idle_timeout_seconds !== undefined) {
      entry.idleMs =
        seconds('idle_timeout_seconds', update.idle_timeout_seconds, settings.idleSeconds) * 1000;
    }
    if (update.max_lifetime_seconds !== undefined) {
      const lifetime = seconds('max_lifetime_seconds', update.max_lifetime_seconds, settings.lifetimeSeconds);
      entry.lifetimeEndsMs = Date.parse(session.created_at) + lifetime * 1000;
    }
    entry.session.expires_at = iso(expiresAtMs(entry));
    await this.#open.store(entry);
    return { ...entry.session };
  }

  async runCell(headers: Record<string, unknown>, id: string, cell: CellRequest): Promise<Execution> {
    return (await this.startCell(headers, id, cell)).done;
  }

  /**
   * Admits a cell and starts it: `running` is the cell as it starts (readable and watchable by its id from
   * now on), `done` resolves with it finished (and is never left unhandled by the caller who drops it).
   */
  startCell(
    headers: Record<string, unknown>,
    id: string,
    cell: CellRequest,
  ): Promise<{ running: Execution; done: Promise<Execution> }> {
    return this.#cells.start(headers, id, cell);
  }

  /**
   * The caller's open session with its files API (the files routes); the use counts as activity for its idle
   * timer. Throws `not_found`, `session_closed`, or `operation_unsupported` for a backend without one.
   */
  async filesOf(
    headers: Record<string, unknown>,
    id: string,
  ): Promise<{ caller: Caller; session: Session; files: SessionFiles }> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session } = await this.#open.find(caller, id);
    if (entry) await this.#resumePaused(entry, caller);
    if (!entry || session.status === 'closed' || !entry.sandbox) {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${session.closed_reason ?? 'closing'})`,
      );
    }
    const files = entry.sandbox.files;
    if (!files) {
      throw new AirlockError(
        'operation_unsupported',
        `${session.backend} sessions have no files API (their files live in the isolate host; send them with a cell)`,
      );
    }
    this.#open.touch(entry);
    return { caller, session: { ...session }, files };
  }

  /**
   * A snapshot of the caller's session, taken between cells (409 `session_busy` while one runs); the session
   * goes on from it. Of a paused session, a copy of its pause image.
   */
  async snapshot(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const { caller, entry } = await this.#open.openEntry(headers, id);
    await entry.idlePause;
    const snapshot = await this.#checkpoints.take(entry, caller);
    entry.latestSnapshot = snapshot.id;
    await this.#open.store(entry);
    const { id: snapshot_id, size_bytes: size, sha256 } = snapshot;
    await this.#auditSnapshot(entry, caller, { op: 'snapshot', snapshot_id, size, sha256 });
    return snapshot;
  }

  /**
   * Takes over a session whose worker is gone (NATS mode), paused on `image` (its pause image, or its latest
   * snapshot): its next cell, files call or resume restores it here. The caller who brings it here (of its
   * tenant, else not_found) holds its in-flight slot and is its owner from now on.
   */
  async adopt(headers: Record<string, unknown>, session: Session, held: AdoptedSession): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    if (caller.tenant !== session.tenant) {
      throw new AirlockError('not_found', `no session ${JSON.stringify(session.id)}`);
    }
    const admission = this.#deps.authorizer.reserve(caller, 'open');
    admission.commit();
    const entry: Entry = {
      session: { ...session, status: 'paused' },
      sandbox: null,
      admission,
      idleMs: held.idleMs,
      lifetimeEndsMs: held.lifetimeEndsMs,
      lastUsedMs: Date.now(),
      running: null,
      closed: null,
      paused: held.image,
      owner: caller,
      idlePause: null,
      resumeOnWorkerLoss: held.resumeOnWorkerLoss,
      latestSnapshot: held.latestSnapshot,
    };
    this.#open.add(entry);
    return { ...entry.session };
  }

  /** Snapshots the session and frees its sandbox (status `paused`); a paused session is answered as it is. */
  async pause(headers: Record<string, unknown>, id: string): Promise<Session> {
    const { caller, entry } = await this.#open.openEntry(headers, id);
    await entry.idlePause;
    const wasPaused = entry.session.status === 'paused';
    await this.#checkpoints.pause(entry, caller);
    await this.#open.store(entry);
    if (!wasPaused) await this.#auditSnapshot(entry, caller, { op: 'pause' });
    return { ...entry.session };
  }

  /** Restores a paused session (a session that is not paused is answered as it is). */
  async resume(headers: Record<string, unknown>, id: string): Promise<Session> {
    const { caller, entry } = await this.#open.openEntry(headers, id);
    await this.#resumePaused(entry, caller);
    this.#open.touch(entry);
    await this.#open.store(entry);
    return { ...entry.session };
  }

  /**
   * Pauses a session at its idle timeout, like an explicit pause (audited as its opener's, the same event); a
   * session that cannot be paused after all is closed as an idle one is. A cell arriving meanwhile waits.
   */
  async #pauseIdle(entry: Entry): Promise<void> {
    try {
      await this.#checkpoints.pause(entry);
    } catch (error) {
      if (error instanceof AirlockError && error.code === 'session_busy') return;
      this.#deps.logger.warn({ session: entry.session.id, err: messageOf(error) }, 'idle pause failed');
      await this.#open.close(entry, 'idle_timeout');
      return;
    }
    if (entry.session.status !== 'paused') return;
    entry.session.expires_at = iso(expiresAtMs(entry));
    await this.#open.store(entry);
    await this.#auditSnapshot(entry, entry.owner, { op: 'pause' });
  }

  /** Restores a paused session (on request, or for its next cell or files call), audited; else nothing. */
  async #resumePaused(entry: Entry, caller: Caller): Promise<void> {
    await entry.idlePause;
    if (entry.session.status !== 'paused') return;
    await this.#checkpoints.resume(entry);
    await this.#auditSnapshot(entry, caller, { op: 'resume' });
  }

  /** The snapshot operation's audit record; the operation is done, so a failed append is logged, not thrown. */
  async #auditSnapshot(
    entry: Entry,
    caller: Caller,
    snapshot: Parameters<typeof sessionSnapshotEntry>[2],
  ): Promise<void> {
    await this.#deps.audit
      .append(sessionSnapshotEntry(entry.session, caller, snapshot))
      .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit append failed'));
  }

  /** The events of the tenant's running cell `id`, or undefined when no such cell runs here. */
  watchCell(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined {
    return this.#cells.watch(tenant, id, signal);
  }

  /** The session backend of that name, when it runs on this server (diagnostics and tests). */
  backend(name: BackendName): SessionBackend | undefined {
    return this.#deps.backends.get(name);
  }

  /** Label values `airlock.instance` of this server's session containers. */
  containerInstances(): string[] {
    return this.#deps.backends.instances();
  }

  get openCount(): number {
    return this.#open.openCount;
  }

  /**
   * A NATS worker stopping: takes no new session, pauses every session between cells that can be paused (a
   * server pause, audited as its owner's) and lets it go with its image, so another worker resumes it on its next
   * call; what cannot be paused is left for close(). Answers how many were handed over.
   */
  async handOver(): Promise<number> {
    this.#closing = true;
    let handed = 0;
    for (const entry of this.#open.entries()) {
      if (entry.session.status === 'closed' || entry.running) continue;
      try {
        await entry.idlePause;
        if (entry.session.status !== 'paused') {
          await this.#checkpoints.pause(entry);
          if (entry.paused === null) continue; // closed meanwhile
          await this.#auditSnapshot(entry, entry.owner, { op: 'pause' });
        }
        await this.#open.store(entry);
        this.#open.release(entry);
        handed++;
      } catch (error) {
        this.#deps.logger.warn({ session: entry.session.id, err: messageOf(error) }, 'not handed over');
      }
    }
    return handed;
  }

  /** Closes every session (reason `shutdown`) and the session backends. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#open.closeAll();
    await this.#deps.backends.close();
  }
}
