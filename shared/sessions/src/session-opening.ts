// Opening a session: authorized like an execution (its callback checked, its time bounds and limits within the
// server's and the caller's), its sandbox started fresh or restored from a snapshot (a fork), and its `accepted`
// record made durable before anyone sees its id (else `503 audit_unavailable`, its sandbox gone, nothing spent).
// It holds one in-flight slot of the tenant until it closes. Must never open more sessions than the server's
// maximum, nor leave a sandbox behind for a session that was not opened.

import { sessionOpenedEntry } from '@airlock/audit';
import { narrowPolicy } from '@airlock/auth';
import {
  AirlockError,
  type Caller,
  newSessionId,
  resolveLimits,
  type Session,
  type SessionOnIdle,
  type SessionRequest,
} from '@airlock/protocol';
import type { SessionBackend, SessionImage, SessionLease } from '@airlock/sandbox';
import { auditFailure } from './admission/admission.ts';
import type { Admission } from './admission/authorizer.ts';
import { checkCallback } from './callbacks.ts';
import type { OpenSessions } from './open-sessions.ts';
import { seconds } from './session-bounds.ts';
import { auditRefusal, type SessionsDeps } from './session-deps.ts';
import { type Entry, iso, messageOf } from './session-entry.ts';
import { sessionAsRequest } from './session-executions.ts';
import type { SessionSnapshots } from './session-snapshots.ts';

export interface SessionOpeningDeps {
  deps: SessionsDeps;
  open: OpenSessions;
  checkpoints: SessionSnapshots;
  /** Whether the server is shutting down (a session opened meanwhile is closed at once). */
  closing: () => boolean;
}

export class SessionOpening {
  readonly #deps: SessionOpeningDeps;
  /** Sessions whose sandbox is starting: they count against the server's maximum. */
  #opening = 0;

  constructor(deps: SessionOpeningDeps) {
    this.#deps = deps;
  }

  async create(headers: Record<string, unknown>, request: SessionRequest): Promise<Session> {
    const { deps, open, checkpoints, closing } = this.#deps;
    let caller: Caller | undefined;
    let admission: Admission | undefined;
    try {
      caller = await deps.authorizer.authenticate(headers);
      if (closing()) throw new AirlockError('shutting_down');
      const callback = request.callback;
      if (callback) await checkCallback(deps.webhooks, caller.tenant, callback);
      const { settings } = deps;
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
          : await checkpoints.origin(caller, request.from_snapshot, request);
      const grant = deps.authorizer.authorizeSubmission(caller, sessionAsRequest(request), 'open');
      const backend = deps.backends.resolve(
        request.language,
        origin?.snapshot.backend ?? request.backend,
        grant.backends,
        request.template,
      );
      const limits = resolveLimits(
        origin ? { ...request.limits, memory_mb: origin.snapshot.memory_mb } : request.limits,
        narrowPolicy(deps.limits, grant),
      );
      const onIdle = await this.#onIdle(request, backend);
      const image: SessionImage | undefined = origin ? await checkpoints.verified(origin) : undefined;
      if (open.openCount + this.#opening >= settings.maxSessions) {
        throw new AirlockError(
          'session_limit',
          `the server holds ${settings.maxSessions} open sessions, its maximum`,
          { retryAfter: 5 },
        );
      }
      admission = deps.authorizer.reserve(caller, 'open');
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
          image === undefined ? await backend.open(spec) : await checkpoints.restore(backend, spec, image);
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
          on_idle: onIdle,
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
        owner: caller,
        idlePause: null,
        resumeOnWorkerLoss: request.resume_on_worker_loss ?? false,
        latestSnapshot: null,
      };
      try {
        await deps.audit.append(sessionOpenedEntry(entry.session, caller, grant.capability));
      } catch (error) {
        // Not opened after all: its sandbox goes, and no one ever saw its id.
        await sandbox.close().catch((err: unknown) => deps.logger.warn({ err }, 'closing a session sandbox'));
        throw auditFailure(error);
      }
      admission.commit();
      open.add(entry);
      // Kept before its first record: that write is its `session.created` event.
      if (callback) await deps.webhooks?.register(caller.tenant, id, callback);
      await open.store(entry);
      open.attach(entry, sandbox);
      if (closing()) await open.close(entry, 'shutdown');
      return { ...entry.session };
    } catch (error) {
      admission?.release();
      if (error instanceof AirlockError) await auditRefusal(deps, caller, error, request.language);
      throw error;
    }
  }

  /**
   * What the session's idle timeout does: as asked (`pause` on a backend that cannot snapshot is 422
   * `snapshot_unsupported`), else the server's default where the backend can honour it, else `close`.
   */
  async #onIdle(request: SessionRequest, backend: SessionBackend): Promise<SessionOnIdle> {
    const wanted = request.on_idle ?? this.#deps.deps.settings.onIdle ?? 'close';
    if (wanted === 'close') return 'close';
    const why = await this.#deps.checkpoints.whyNotPausable(backend);
    if (why === null) return 'pause';
    if (request.on_idle === undefined) return 'close';
    throw new AirlockError('snapshot_unsupported', `on_idle "pause" needs a snapshot: ${why}`, {
      field: 'on_idle',
    });
  }
}
