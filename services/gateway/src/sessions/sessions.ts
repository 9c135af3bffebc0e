// The sessions of every tenant: open (authorized like an execution, holding one in-flight slot of the tenant
// until it closes), read, close, and run cells one at a time. Idle and lifetime expiry are swept every second;
// an expired, deleted or dead session's sandbox is destroyed and its slot released. Each cell is an execution
// with audit accepted/started/finished records, kept in the ExecutionStore (so GET /v1/executions/:id reads
// it); session records are kept in the SessionStore, and a closed session lives only there. A session is
// usable, and a cell runs, only once its `accepted` record is durable (else `503 audit_unavailable`, nothing
// spent). It must never run two cells of one session at once, show a session to another tenant, or keep a
// sandbox of a closed session.

import {
  type AuditSink,
  cellAcceptedEntry,
  cellFinishedEntry,
  cellStartedEntry,
  rejectedEntry,
  sessionClosedEntry,
  sessionOpenedEntry,
  sessionSnapshotEntry,
} from '@airlock/audit';
import { narrowPolicy } from '@airlock/auth';
import {
  AirlockError,
  type BackendName,
  type Caller,
  type CellRequest,
  type Execution,
  type ExecutionEvent,
  emptyResult,
  isSessionId,
  type LimitPolicy,
  newSessionId,
  resolveLimits,
  type Session,
  type SessionClosedReason,
  type SessionRequest,
  type SessionUpdate,
  type Snapshot,
} from '@airlock/protocol';
import type { SessionBackend, SessionFiles, SessionImage, SessionLease } from '@airlock/sandbox';
import { type ExecutionStore, type SessionStore, storeUnavailable } from '@airlock/store';
import { admitWithRecord, auditFailure, recordRefusal } from '../admission.ts';
import type { Admission, Authorizer } from '../authorizer.ts';
import type { SnapshotStore } from '../snapshots/snapshot-store.ts';
import { Snapshots } from '../snapshots/snapshots.ts';
import { checkCallback, type Webhooks } from '../webhooks/webhooks.ts';
import { CellFeeds } from './cell-feeds.ts';
import type { SessionBackends } from './session-backends.ts';
import { seconds } from './session-bounds.ts';
import { cellAsRequest, newCellExecution, sessionAsRequest } from './session-executions.ts';
import { SessionFileAccess } from './session-file-access.ts';
import { SessionSnapshots } from './session-snapshots.ts';

export interface SessionSettings {
  idleSeconds: { default: number; ceiling: number };
  lifetimeSeconds: { default: number; ceiling: number };
  /** Open sessions across all tenants. */
  maxSessions: number;
  /** Largest file the files API moves in or out. @default 8 MiB */
  fileBytes?: number;
  /** How often expiry is checked. @default 1000 */
  sweepMs?: number;
}

export interface SessionsDeps {
  backends: SessionBackends;
  audit: AuditSink;
  authorizer: Authorizer;
  limits: LimitPolicy;
  settings: SessionSettings;
  /** Where cells (executions) and session records are kept; retention is the store's. */
  store: { executions: ExecutionStore; sessions: SessionStore };
  logger: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /**
   * Checks and delivers a session's callback and the tenant's webhooks.
   * @default none: a request naming a callback is refused with `callback_refused`
   */
  webhooks?: Webhooks;
  /**
   * Where session snapshots and pause images are kept.
   * @default none: snapshots, forks and pauses answer `snapshot_unsupported`
   */
  snapshots?: SnapshotStore;
}

export interface Entry {
  session: Session;
  sandbox: SessionLease | null;
  /** Holds the tenant's in-flight slot until the session closes. */
  admission: Admission;
  idleMs: number;
  lifetimeEndsMs: number;
  lastUsedMs: number;
  running: AbortController | null;
  closed: Promise<void> | null;
  /** The id of its pause image while the session is paused (its sandbox is then null). */
  paused: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Sessions {
  readonly #deps: SessionsDeps;
  /** Open sessions (and closing ones until their closed record is stored). */
  readonly #entries = new Map<string, Entry>();
  readonly #sweeper: NodeJS.Timeout;
  /** Event feeds of the running cells (GET /v1/executions/:id/events). */
  readonly #feeds = new CellFeeds();
  #opening = 0;
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
    this.#checkpoints = new SessionSnapshots({
      store: deps.snapshots,
      authorizer: deps.authorizer,
      backends: deps.backends,
      attach: (entry, lease) => this.#attach(entry, lease),
      close: (entry) => this.#close(entry, 'interpreter_exited'),
      logger: deps.logger,
    });
    this.#sweeper = setInterval(() => this.#sweep(), deps.settings.sweepMs ?? 1000);
    this.#sweeper.unref();
  }

  async create(headers: Record<string, unknown>, request: SessionRequest): Promise<Session> {
    let caller: Caller | undefined;
    let admission: Admission | undefined;
    try {
      caller = await this.#deps.authorizer.authenticate(headers);
      if (this.#closing) throw new AirlockError('shutting_down');
      const callback = request.callback;
      if (callback) await checkCallback(this.#deps.webhooks, caller.tenant, callback);
      const { settings } = this.#deps;
      const idle = seconds('idle_timeout_seconds', request.idle_timeout_seconds, settings.idleSeconds);
      const lifetime = seconds(
        'max_lifetime_seconds',
        request.max_lifetime_seconds,
        settings.lifetimeSeconds,
      );
      if (request.template !== undefined && request.from_snapshot !== undefined) {
        throw new AirlockError(
          'invalid_request',
          "a session from a snapshot starts from the snapshot's image: leave out template",
          { field: 'template' },
        );
      }
      const origin =
        request.from_snapshot === undefined
          ? undefined
          : await this.#checkpoints.origin(caller, request.from_snapshot, request);
      const grant = this.#deps.authorizer.authorizeSubmission(caller, sessionAsRequest(request), 'open');
      const backend = this.#deps.backends.resolve(
        request.language,
        origin?.snapshot.backend ?? request.backend,
        grant.backends,
        request.template,
      );
      const limits = resolveLimits(
        origin ? { ...request.limits, memory_mb: origin.snapshot.memory_mb } : request.limits,
        narrowPolicy(this.#deps.limits, grant),
      );
      const image: SessionImage | undefined = origin ? await this.#checkpoints.verified(origin) : undefined;
      if (this.openCount + this.#opening >= settings.maxSessions) {
        throw new AirlockError(
          'session_limit',
          `the server holds ${settings.maxSessions} open sessions, its maximum`,
          { retryAfter: 5 },
        );
      }
      admission = this.#deps.authorizer.reserve(caller, 'open');
      const id = newSessionId();
      this.#opening++;
      let sandbox: SessionLease;
      try {
        const spec = {
          sessionId: id,
          language: request.language,
          ...(request.template === undefined ? {} : { template: request.template }),
          limits,
        };
        sandbox =
          image === undefined
            ? await backend.open(spec)
            : await this.#checkpoints.restore(backend, spec, image);
      } catch (error) {
        if (error instanceof AirlockError) throw error;
        throw new AirlockError('internal_error', `the session sandbox did not start: ${messageOf(error)}`);
      } finally {
        this.#opening--;
      }
      const now = Date.now();
      const entry: Entry = {
        session: {
          id,
          tenant: caller.tenant,
          language: request.language,
          backend: backend.backend,
          template: request.template ?? null,
          status: 'ready',
          limits,
          created_at: iso(now),
          last_used_at: iso(now),
          expires_at: iso(Math.min(now + idle * 1000, now + lifetime * 1000)),
          cells: 0,
          closed_at: null,
          closed_reason: null,
          metadata: request.metadata,
        },
        sandbox,
        admission,
        idleMs: idle * 1000,
        lifetimeEndsMs: now + lifetime * 1000,
        lastUsedMs: now,
        running: null,
        closed: null,
        paused: null,
      };
      try {
        await this.#deps.audit.append(sessionOpenedEntry(entry.session, caller, grant.capability));
      } catch (error) {
        // Not opened after all: its sandbox goes, and no one ever saw its id.
        await sandbox
          .close()
          .catch((err: unknown) => this.#deps.logger.warn({ err }, 'closing a session sandbox'));
        throw auditFailure(error);
      }
      admission.commit();
      this.#entries.set(id, entry);
      // Kept before its first record: that write is its `session.created` event.
      if (callback) await this.#deps.webhooks?.register(caller.tenant, id, callback);
      await this.#store(entry);
      this.#attach(entry, sandbox);
      if (this.#closing) await this.#close(entry, 'shutdown');
      return { ...entry.session };
    } catch (error) {
      admission?.release();
      if (error instanceof AirlockError) await this.#refused(caller, error, request.language);
      throw error;
    }
  }

  async #refused(caller: Caller | undefined, error: AirlockError, language?: string): Promise<void> {
    await recordRefusal(this.#deps.audit, rejectedEntry(caller, error, language), error.code, (err) =>
      this.#deps.logger.error({ err }, 'audit append failed'),
    );
  }

  async get(headers: Record<string, unknown>, id: string): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const found = await this.#find(caller, id);
    return { ...(found.entry?.session ?? found.session) };
  }

  /** Closes the session (destroying its sandbox before answering); a closed session is returned as it is. */
  async remove(headers: Record<string, unknown>, id: string): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session } = await this.#find(caller, id);
    if (!entry) return session;
    await this.#close(entry, 'deleted');
    return { ...entry.session };
  }

  /**
   * New idle timeout and/or lifetime for an open session, refused above the server ceilings like at open; the
   * lifetime counts from the session's creation. Answers the session with its new `expires_at`.
   */
  async update(headers: Record<string, unknown>, id: string, update: SessionUpdate): Promise<Session> {
    const { entry } = await this.#openEntry(headers, id);
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
    entry.session.expires_at = iso(Math.min(entry.lastUsedMs + entry.idleMs, entry.lifetimeEndsMs));
    await this.#store(entry);
    return { ...entry.session };
  }

  async runCell(headers: Record<string, unknown>, id: string, cell: CellRequest): Promise<Execution> {
    return (await this.startCell(headers, id, cell)).done;
  }

  /**
   * Admits a cell and starts it: `running` is the cell as it starts (readable and watchable by its id from
   * now on), `done` resolves with it finished (and is never left unhandled by the caller who drops it).
   */
  async startCell(
    headers: Record<string, unknown>,
    id: string,
    cell: CellRequest,
  ): Promise<{ running: Execution; done: Promise<Execution> }> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session: closed } = await this.#find(caller, id);
    if (!entry) {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${closed.closed_reason ?? 'closed'})`,
      );
    }
    const { session } = entry;
    await this.#resumePaused(entry, caller);
    if (session.status === 'closed' || !entry.sandbox) {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${session.closed_reason ?? 'closing'})`,
      );
    }
    if (entry.running) throw new AirlockError('session_busy', `session ${id} is running a cell`);
    const request = cellAsRequest(session, cell);
    const running = new AbortController();
    // Taken now: admission waits for the audit log, and a second cell must find the session busy meanwhile.
    entry.running = running;
    session.status = 'busy';
    let execution: Execution;
    let storedCell: Execution | undefined;
    try {
      const grant = this.#deps.authorizer.authorizeSubmission(caller, request, 'cell');
      const policy = narrowPolicy({ defaults: session.limits, ceilings: this.#deps.limits.ceilings }, grant);
      const limits = { ...resolveLimits(cell.limits, policy), memory_mb: session.limits.memory_mb };
      execution = newCellExecution(session, limits);
      // Stored first, so a crash from here on leaves a record that recovery ends; refused, it is removed.
      const record = { ...execution };
      await this.#deps.store.executions.create({ execution: record, requestHash: '' }).catch((err) => {
        this.#deps.logger.error({ err }, 'storing a cell failed');
        throw storeUnavailable();
      });
      storedCell = record;
      const accepted = cellAcceptedEntry(execution, request, caller, grant.capability, id);
      const admission = await admitWithRecord(
        this.#deps.authorizer,
        this.#deps.audit,
        caller,
        'cell',
        accepted,
      );
      admission.commit();
    } catch (error) {
      if (storedCell) {
        await this.#deps.store.executions.remove(storedCell.tenant, storedCell.id).catch(() => {});
      }
      entry.running = null;
      if (session.status === 'busy') session.status = 'ready';
      if (error instanceof AirlockError) await this.#refused(caller, error);
      throw error;
    }
    const done = this.#runAdmittedCell(entry, execution, cell, running);
    done.catch(() => {});
    return { running: structuredClone(execution), done };
  }

  /** Runs a cell whose `accepted` record is durable; its `started` and `finished` records follow. */
  async #runAdmittedCell(
    entry: Entry,
    execution: Execution,
    cell: CellRequest,
    running: AbortController,
  ): Promise<Execution> {
    const { session } = entry;
    const id = session.id;
    const sandbox = entry.sandbox;
    const onAuditError = (err: unknown) => this.#deps.logger.error({ err }, 'audit append failed');
    this.#feeds.open(execution);
    let finished = execution;
    try {
      this.#deps.audit.append(cellStartedEntry(execution, id)).catch(onAuditError);
      const result = !sandbox
        ? emptyResult('canceled', `the session was closed (${session.closed_reason ?? 'closing'})`)
        : await sandbox
            .run(
              {
                executionId: execution.id,
                code: cell.code,
                files: cell.files.map((f) => ({ path: f.path, content: Buffer.from(f.content, f.encoding) })),
                stdin: cell.stdin,
                limits: execution.limits,
              },
              {
                signal: running.signal,
                onOutput: (stream, chunk) => this.#feeds.output(execution.id, stream, chunk),
              },
            )
            .catch((error: unknown) =>
              emptyResult('internal_error', `the session sandbox failed: ${messageOf(error)}`),
            );
      execution.status = 'finished';
      execution.finished_at = new Date().toISOString();
      execution.result = result;
      session.cells += 1;
      await this.#deps.store.executions.finish({ ...execution }, this.#feeds.replay(execution));
      await this.#deps.audit.append(cellFinishedEntry(execution, id)).catch(onAuditError);
      // A cell that ended the sandbox (os._exit, OOM, an uninterruptible timeout) has settled `ended` by now.
      const ended = sandbox ? await Promise.race([sandbox.ended, Promise.resolve(null)]) : null;
      if (ended !== null) await this.#close(entry, ended);
      return { ...execution };
    } catch (error) {
      if (execution.status !== 'finished') {
        session.cells += 1;
        const failed = { ...execution, status: 'finished' as const, finished_at: new Date().toISOString() };
        failed.result = emptyResult('internal_error', `the cell did not run: ${messageOf(error)}`);
        await this.#deps.store.executions.finish(failed, this.#feeds.replay(failed)).catch(() => {});
        finished = failed;
      }
      throw error;
    } finally {
      entry.running = null;
      if (session.status === 'busy') session.status = 'ready';
      this.#touch(entry);
      // Also when the sandbox ended during the cell: this record then carries the cell count as well.
      await this.#store(entry);
      this.#feeds.end(finished);
    }
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
    const { entry, session } = await this.#find(caller, id);
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
    this.#touch(entry);
    return { caller, session: { ...session }, files };
  }

  /**
   * A snapshot of the caller's session, taken between cells (409 `session_busy` while one runs); the session
   * goes on from it. Of a paused session, a copy of its pause image.
   */
  async snapshot(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const { caller, entry } = await this.#openEntry(headers, id);
    const snapshot = await this.#checkpoints.take(entry, caller);
    await this.#store(entry);
    const { id: snapshot_id, size_bytes: size, sha256 } = snapshot;
    await this.#auditSnapshot(entry, caller, { op: 'snapshot', snapshot_id, size, sha256 });
    return snapshot;
  }

  /** Snapshots the session and frees its sandbox (status `paused`); a paused session is answered as it is. */
  async pause(headers: Record<string, unknown>, id: string): Promise<Session> {
    const { caller, entry } = await this.#openEntry(headers, id);
    const wasPaused = entry.session.status === 'paused';
    await this.#checkpoints.pause(entry, caller);
    await this.#store(entry);
    if (!wasPaused) await this.#auditSnapshot(entry, caller, { op: 'pause' });
    return { ...entry.session };
  }

  /** Restores a paused session (a session that is not paused is answered as it is). */
  async resume(headers: Record<string, unknown>, id: string): Promise<Session> {
    const { caller, entry } = await this.#openEntry(headers, id);
    await this.#resumePaused(entry, caller);
    this.#touch(entry);
    await this.#store(entry);
    return { ...entry.session };
  }

  /** Restores a paused session (on request, or for its next cell or files call), audited; else nothing. */
  async #resumePaused(entry: Entry, caller: Caller): Promise<void> {
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
    return this.#feeds.watch(tenant, id, signal);
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
    let open = 0;
    for (const entry of this.#entries.values()) if (entry.session.status !== 'closed') open++;
    return open;
  }

  /** Closes every session (reason `shutdown`) and the session backends. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#entries.values()].map((entry) => this.#close(entry, 'shutdown')));
    await this.#deps.backends.close();
  }

  /** The caller's session: an open one in memory (entry), or a closed one from the store. */
  async #find(
    caller: Caller,
    id: string,
  ): Promise<{ entry: Entry; session: Session } | { entry: null; session: Session }> {
    // Another tenant's session, and an id that is not one, look exactly like one that does not exist.
    const missing = () => new AirlockError('not_found', `no session ${JSON.stringify(id.slice(0, 64))}`);
    if (!isSessionId(id)) throw missing();
    const entry = this.#entries.get(id);
    if (entry?.session.tenant === caller.tenant) return { entry, session: entry.session };
    const stored = entry ? undefined : await this.#deps.store.sessions.getSession(caller.tenant, id);
    if (!stored) throw missing();
    return { entry: null, session: stored };
  }

  /** The caller's session while it is open (paused included); else not_found or session_closed. */
  async #openEntry(headers: Record<string, unknown>, id: string): Promise<{ caller: Caller; entry: Entry }> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session } = await this.#find(caller, id);
    if (!entry || session.status === 'closed') {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${session.closed_reason ?? 'closing'})`,
      );
    }
    return { caller, entry };
  }

  /** Makes `lease` the session's sandbox: its end (unless it was replaced by then) ends the session. */
  #attach(entry: Entry, lease: SessionLease): void {
    entry.sandbox = lease;
    void lease.ended.then((end) => {
      if (entry.sandbox === lease) void this.#close(entry, end);
    });
  }

  /** Writes the session's record; a failure is logged (the session goes on, its record lags). */
  async #store(entry: Entry): Promise<void> {
    await this.#deps.store.sessions
      .putSession({ ...entry.session })
      .catch((err: unknown) =>
        this.#deps.logger.error({ err, session: entry.session.id }, 'storing a session failed'),
      );
  }

  #touch(entry: Entry): void {
    const now = Date.now();
    entry.lastUsedMs = now;
    if (entry.session.status === 'closed') return;
    entry.session.last_used_at = iso(now);
    entry.session.expires_at = iso(Math.min(now + entry.idleMs, entry.lifetimeEndsMs));
  }

  #close(entry: Entry, reason: SessionClosedReason): Promise<void> {
    if (entry.closed) return entry.closed;
    const { session } = entry;
    session.status = 'closed';
    session.closed_reason = reason;
    session.closed_at = iso(Date.now());
    entry.running?.abort(`the session was closed (${reason})`);
    const sandbox = entry.sandbox;
    entry.sandbox = null;
    entry.closed = (async () => {
      try {
        await sandbox?.close();
      } catch (err) {
        this.#deps.logger.warn({ err, session: session.id }, 'closing a session sandbox failed');
      }
      entry.admission.release();
      await this.#checkpoints.dropPauseImage(entry);
      await this.#deps.audit
        .append(sessionClosedEntry(session))
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit append failed'));
      // From here on the closed session lives in the store only.
      await this.#store(entry);
      if (this.#entries.get(session.id) === entry) this.#entries.delete(session.id);
    })();
    return entry.closed;
  }

  #sweep(): void {
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      if (entry.session.status === 'closed') continue;
      if (now >= entry.lifetimeEndsMs) void this.#close(entry, 'max_lifetime');
      else if (!entry.running && now >= entry.lastUsedMs + entry.idleMs)
        void this.#close(entry, 'idle_timeout');
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
