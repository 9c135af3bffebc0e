// Where a NATS gateway sends a session call: to the worker hosting the session, as its record in the
// `airlock-sessions` bucket says, while that worker is live (its heartbeat younger than its TTL). A new session
// goes to a live worker that runs its backend. A session whose worker is gone is, by its record: taken over by
// another live worker (`adopt`) when it is paused (its pause image is in the Object Store) or when it asked
// `resume_on_worker_loss` and has a snapshot (it resumes from its latest one); else ended `worker_lost` — its
// record closed, a `session.closed` event and this gateway's audit record. Another tenant's session, like an
// unknown id, is 404 `not_found`. Must never send a call about a session to a worker that does not host it,
// unless that worker is to take it over.

import { type AuditSink, sessionClosedEntry } from '@airlock/audit';
import {
  AirlockError,
  type Backend,
  type BackendName,
  type Caller,
  type Session,
  type SessionLanguage,
  type Worker,
} from '@airlock/protocol';
import {
  type Authorizer,
  decodeAnswer,
  encodeCall,
  type HostedSession,
  headersOf,
  type SessionCall,
  type SessionRecords,
  sessionsSubject,
  tooLarge,
} from '@airlock/sessions';
import type { SessionStore } from '@airlock/store';
import type { NatsConnection } from '@nats-io/transport-node';

export interface SessionRouterDeps {
  nc: NatsConnection;
  records: SessionRecords;
  /** The same records, writing lifecycle events (a session ended `worker_lost` is `session.closed`). */
  eventing: Pick<SessionStore, 'putSession'>;
  workers: () => Promise<Worker[]>;
  authorizer: Pick<Authorizer, 'authenticate'>;
  audit: Pick<AuditSink, 'append'>;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** How long a call may take before the gateway gives up on it (a cell's is its own). */
  callTimeoutMs: number;
}

/** The backends a session request may land on, most preferred first. */
const AUTO: Record<SessionLanguage, readonly BackendName[]> = {
  python: ['gvisor', 'docker'],
  javascript: ['isolate'],
  typescript: ['isolate'],
};

const missing = (id: string) =>
  new AirlockError('not_found', `no session ${JSON.stringify(id.slice(0, 64))}`);

/** Calls about an existing session answered from its record once closed (no worker needed). */
const CLOSED_ANSWERS = new Set<SessionCall['op']>(['get', 'remove']);

export class SessionRouter {
  readonly #deps: SessionRouterDeps;

  constructor(deps: SessionRouterDeps) {
    this.#deps = deps;
  }

  /** Opens a session on a live worker that runs the asked backend (any live worker when none says so). */
  async open(call: SessionCall, language: SessionLanguage, backend: Backend): Promise<unknown> {
    await this.#deps.authorizer.authenticate(headersOf(call));
    const worker = await this.#pick(backend === 'auto' ? AUTO[language] : [backend]);
    return this.send(worker.id, call, this.#deps.callTimeoutMs);
  }

  /** A call about no session in particular (the snapshot routes): any live worker answers. */
  async any(call: SessionCall): Promise<unknown> {
    await this.#deps.authorizer.authenticate(headersOf(call));
    const worker = await this.#pick([]);
    return this.send(worker.id, call, this.#deps.callTimeoutMs);
  }

  /**
   * A call about the caller's session `call.id`, sent to its worker (or to one taking it over); answers the
   * reply and the worker that gave it.
   */
  async session(
    call: SessionCall,
    timeoutMs = this.#deps.callTimeoutMs,
  ): Promise<{ value: unknown; worker: string }> {
    const caller = await this.#deps.authorizer.authenticate(headersOf(call));
    const id = call.id ?? '';
    for (let attempt = 0; ; attempt++) {
      if (attempt === MAX_ATTEMPTS) {
        throw new AirlockError('backend_unavailable', `no worker answers for session ${id} now`, {
          retryAfter: 5,
        });
      }
      const found = await this.#deps.records.read(id);
      if (!found || found.hosted.session.tenant !== caller.tenant) throw missing(id);
      const { hosted } = found;
      if (hosted.session.status === 'closed')
        return { value: closedAnswer(call, hosted.session), worker: '' };
      const live = await this.#deps.workers();
      const host = hosted.worker === null ? undefined : live.find((w) => w.id === hosted.worker);
      if (host) {
        const answer = await this.#trySend(host.id, call, timeoutMs);
        if (answer !== NO_ONE) return { value: answer, worker: host.id };
        // Listed but not answering: killed, its heartbeat not yet expired. Look again shortly.
        await sleep(250);
        continue;
      }
      const image = hosted.paused ?? (hosted.resume_on_worker_loss ? hosted.latest_snapshot : null);
      if (image === null) {
        await this.#endLost(hosted, caller);
        continue;
      }
      const taker = await this.#pick([hosted.session.backend as BackendName]);
      const answer = await this.#trySend(taker.id, { ...call, adopt: true }, timeoutMs);
      if (answer !== NO_ONE) return { value: answer, worker: taker.id };
      await sleep(250);
    }
  }

  /** Whether worker `id` is still listed live. */
  async isLive(id: string): Promise<boolean> {
    return (await this.#deps.workers()).some((w) => w.id === id);
  }

  /** Sends a call to a worker and answers its reply (a coded error is thrown as such). */
  async send(workerId: string, call: SessionCall, timeoutMs: number): Promise<unknown> {
    const answer = await this.#trySend(workerId, call, timeoutMs);
    if (answer === NO_ONE) {
      throw new AirlockError('backend_unavailable', `worker ${workerId} does not answer for sessions`, {
        retryAfter: 1,
      });
    }
    return answer;
  }

  async #trySend(workerId: string, call: SessionCall, timeoutMs: number): Promise<unknown> {
    const message = encodeCall(call);
    const maxPayload = this.#deps.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (Buffer.byteLength(message) > maxPayload) throw tooLarge('request', maxPayload);
    let reply: Awaited<ReturnType<NatsConnection['request']>>;
    try {
      reply = await this.#deps.nc.request(sessionsSubject(workerId), message, { timeout: timeoutMs });
    } catch (error) {
      if (isNoResponders(error)) return NO_ONE;
      this.#deps.logger.warn({ err: error, worker: workerId, op: call.op }, 'a session call got no answer');
      throw new AirlockError('internal_error', `the worker hosting the session did not answer (${call.op})`);
    }
    return decodeAnswer(reply.data);
  }

  /** A live worker (not draining) running one of `backends` (any, when none does or none is asked). */
  async #pick(backends: readonly BackendName[]): Promise<Worker> {
    const live = (await this.#deps.workers()).filter((w) => w.state === 'running');
    const fitting = live.filter((w) => backends.some((b) => w.backends.includes(b)));
    const choices = fitting.length > 0 ? fitting : live;
    const chosen = choices[Math.floor(Math.random() * choices.length)];
    if (!chosen) {
      throw new AirlockError('backend_unavailable', 'no live worker hosts sessions now', { retryAfter: 5 });
    }
    return chosen;
  }

  /** Ends a session whose worker is gone and that cannot resume: closed `worker_lost`, audited, its event out. */
  async #endLost(hosted: HostedSession, caller: Caller): Promise<void> {
    const session: Session = {
      ...hosted.session,
      status: 'closed',
      closed_reason: 'worker_lost',
      closed_at: new Date().toISOString(),
    };
    await this.#deps.eventing.putSession(session);
    this.#deps.logger.warn(
      { session: session.id, worker: hosted.worker, tenant: caller.tenant },
      'a session ended with its worker (worker lost)',
    );
    await this.#deps.audit
      .append(sessionClosedEntry(session))
      .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit append failed'));
  }
}

const NO_ONE = Symbol('no responders');
/** Tries (a quarter second apart) to reach a session's worker before answering `backend_unavailable`. */
const MAX_ATTEMPTS = 240;

/** A closed session's answer: itself for a read or a close, else 409 `session_closed` saying why. */
function closedAnswer(call: SessionCall, session: Session): unknown {
  if (CLOSED_ANSWERS.has(call.op)) return session;
  throw new AirlockError(
    'session_closed',
    `session ${session.id} is closed (${session.closed_reason ?? 'closed'})`,
  );
}

function isNoResponders(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.name === 'NoRespondersError') return true;
    const check = (e as { isNoResponders?: () => boolean }).isNoResponders;
    if (typeof check === 'function' && check.call(e)) return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
