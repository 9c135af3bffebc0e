// The sessions of every tenant: open (authorized like an execution, holding one in-flight slot of the tenant
// until it closes), read, close, and run cells one at a time. Idle and lifetime expiry are swept every second;
// an expired, deleted or dead session's sandbox is destroyed and its slot released. Each cell is an execution
// with audit accepted/started/finished records, kept for GET /v1/executions/:id. A session is usable, and a
// cell runs, only once its `accepted` record is durable (else `503 audit_unavailable`, nothing spent).
// It must never run two cells of one session at once, show a session to another tenant, or keep a sandbox of a
// closed session.

import type { AuditSink } from '@airlock/audit';
import {
  AirlockError,
  type CellRequest,
  type Execution,
  type ExecutionRequest,
  emptyResult,
  type LimitPolicy,
  newExecutionId,
  newSessionId,
  resolveLimits,
  type Session,
  type SessionClosedReason,
  type SessionRequest,
} from '@airlock/protocol';
import type { BackendName, SandboxSession, SessionSandbox } from '@airlock/sandbox';
import { rejectedEntry } from '@airlock/worker';
import { admitWithRecord, auditFailure, recordRefusal } from '../admission.ts';
import type { Admission, Authorizer, Caller } from '../authorizer.ts';
import { CellArchive } from './cell-archive.ts';
import {
  cellAcceptedEntry,
  cellAsRequest,
  cellFinishedEntry,
  cellStartedEntry,
  sessionClosedEntry,
  sessionOpenedEntry,
} from './session-audit.ts';
import type { SessionBackends } from './session-backends.ts';
import { narrow, seconds } from './session-bounds.ts';

export interface SessionSettings {
  idleSeconds: { default: number; ceiling: number };
  lifetimeSeconds: { default: number; ceiling: number };
  /** Open sessions across all tenants. */
  maxSessions: number;
  /** How long closed sessions and finished cells stay readable. */
  retentionMs: number;
  maxRetainedCells: number;
  /** How often expiry is checked. @default 1000 */
  sweepMs?: number;
}

export interface SessionsDeps {
  backends: SessionBackends;
  audit: AuditSink;
  authorizer: Authorizer;
  limits: LimitPolicy;
  settings: SessionSettings;
  logger: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Entry {
  session: Session;
  sandbox: SandboxSession | null;
  /** Holds the tenant's in-flight slot until the session closes. */
  admission: Admission;
  idleMs: number;
  lifetimeEndsMs: number;
  lastUsedMs: number;
  running: AbortController | null;
  closed: Promise<void> | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Sessions {
  readonly #deps: SessionsDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #cells: CellArchive;
  readonly #sweeper: NodeJS.Timeout;
  #opening = 0;
  #closing = false;

  constructor(deps: SessionsDeps) {
    this.#deps = deps;
    this.#cells = new CellArchive(deps.settings.retentionMs, deps.settings.maxRetainedCells);
    this.#sweeper = setInterval(() => this.#sweep(), deps.settings.sweepMs ?? 1000);
    this.#sweeper.unref();
  }

  async create(headers: Record<string, unknown>, request: SessionRequest): Promise<Session> {
    let caller: Caller | undefined;
    let admission: Admission | undefined;
    try {
      caller = await this.#deps.authorizer.authenticate(headers);
      if (this.#closing) throw new AirlockError('shutting_down');
      const { settings } = this.#deps;
      const idle = seconds('idle_timeout_seconds', request.idle_timeout_seconds, settings.idleSeconds);
      const lifetime = seconds(
        'max_lifetime_seconds',
        request.max_lifetime_seconds,
        settings.lifetimeSeconds,
      );
      const grant = this.#deps.authorizer.authorizeSubmission(caller, this.#asRequest(request), 'open');
      const backend = this.#deps.backends.resolve(request.language, request.backend, grant.backends);
      const limits = resolveLimits(request.limits, narrow(this.#deps.limits, grant.ceilings));
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
      let sandbox: SandboxSession;
      try {
        sandbox = await backend.open({ sessionId: id, language: request.language, limits });
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
      void sandbox.ended.then((end) => this.#close(entry, end));
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
    return { ...this.#find(caller, id).session };
  }

  /** Closes the session (destroying its sandbox before answering); a closed session is returned as it is. */
  async remove(headers: Record<string, unknown>, id: string): Promise<Session> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const entry = this.#find(caller, id);
    await this.#close(entry, 'deleted');
    return { ...entry.session };
  }

  async runCell(headers: Record<string, unknown>, id: string, cell: CellRequest): Promise<Execution> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const entry = this.#find(caller, id);
    const { session } = entry;
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
    try {
      const grant = this.#deps.authorizer.authorizeSubmission(caller, request, 'cell');
      const policy = narrow(
        { defaults: session.limits, ceilings: this.#deps.limits.ceilings },
        grant.ceilings,
      );
      const limits = { ...resolveLimits(cell.limits, policy), memory_mb: session.limits.memory_mb };
      const now = new Date().toISOString();
      execution = {
        id: newExecutionId(),
        tenant: session.tenant,
        status: 'running',
        language: session.language,
        backend: session.backend,
        limits,
        metadata: {},
        created_at: now,
        started_at: now,
        finished_at: null,
        result: null,
        session_id: session.id,
      };
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
      entry.running = null;
      if (session.status === 'busy') session.status = 'ready';
      if (error instanceof AirlockError) await this.#refused(caller, error);
      throw error;
    }
    return this.#runAdmittedCell(entry, execution, cell, running);
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
              { signal: running.signal },
            )
            .catch((error: unknown) =>
              emptyResult('internal_error', `the session sandbox failed: ${messageOf(error)}`),
            );
      execution.status = 'finished';
      execution.finished_at = new Date().toISOString();
      execution.result = result;
      this.#cells.add(execution);
      await this.#deps.audit.append(cellFinishedEntry(execution, id)).catch(onAuditError);
      // A cell that ended the sandbox (os._exit, OOM, an uninterruptible timeout) has settled `ended` by now.
      const ended = sandbox ? await Promise.race([sandbox.ended, Promise.resolve(null)]) : null;
      if (ended !== null) await this.#close(entry, ended);
      return { ...execution };
    } finally {
      entry.running = null;
      session.cells += 1;
      if (session.status === 'busy') session.status = 'ready';
      this.#touch(entry);
    }
  }

  /** A finished cell of the tenant, for GET /v1/executions/:id. */
  findCell(tenant: string, executionId: string): Execution | undefined {
    return this.#cells.get(tenant, executionId);
  }

  /** The session backend of that name, when it runs on this server (diagnostics and tests). */
  backend(name: BackendName): SessionSandbox | undefined {
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

  #asRequest(request: SessionRequest): ExecutionRequest {
    return {
      language: request.language,
      code: '',
      files: [],
      stdin: '',
      args: [],
      env: {},
      limits: request.limits,
      backend: request.backend,
      network: request.network,
      metadata: request.metadata,
    };
  }

  #find(caller: Caller, id: string): Entry {
    const entry = this.#entries.get(id);
    // Another tenant's session looks exactly like one that does not exist.
    if (!entry || entry.session.tenant !== caller.tenant) {
      throw new AirlockError('not_found', `no session ${JSON.stringify(id.slice(0, 64))}`);
    }
    return entry;
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
      await this.#deps.audit
        .append(sessionClosedEntry(session))
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit append failed'));
    })();
    return entry.closed;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.#entries) {
      if (entry.session.status === 'closed') {
        const closedAt = Date.parse(entry.session.closed_at ?? '');
        if (now - closedAt > this.#deps.settings.retentionMs) this.#entries.delete(id);
        continue;
      }
      if (now >= entry.lifetimeEndsMs) void this.#close(entry, 'max_lifetime');
      else if (!entry.running && now >= entry.lastUsedMs + entry.idleMs)
        void this.#close(entry, 'idle_timeout');
    }
    this.#cells.sweep(now);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
