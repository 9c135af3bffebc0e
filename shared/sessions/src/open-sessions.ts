// The open sessions of this server, by id: finding the caller's (another tenant's looks like none), attaching a
// sandbox, storing a session's record, counting activity, closing, and the sweep that ends sessions past their
// lifetime and closes (or, with `on_idle: pause`, pauses) those past their idle timeout. A closed session's sandbox is destroyed and its slot released before its closed
// record is stored; from then on it lives in the SessionStore only. Must never show a session to another
// tenant, close a session twice, or keep a sandbox of a closed session.

import { sessionClosedEntry } from '@airlock/audit';
import {
  AirlockError,
  type Caller,
  isSessionId,
  type Session,
  type SessionClosedReason,
} from '@airlock/protocol';
import type { SessionLease } from '@airlock/sandbox';
import type { SessionsDeps } from './session-deps.ts';
import { type Entry, expiresAtMs, iso } from './session-entry.ts';

export interface OpenSessionsDeps
  extends Pick<SessionsDeps, 'audit' | 'authorizer' | 'store' | 'logger' | 'beforeRecord'> {
  /** Removes the pause image of a session that closes while paused. */
  dropPauseImage: (entry: Entry) => Promise<void>;
  /** Pauses a session whose idle timeout passed and whose `on_idle` is `pause`. */
  pauseIdle: (entry: Entry) => Promise<void>;
  /** How often expiry is checked. */
  sweepMs: number;
}

export class OpenSessions {
  readonly #deps: OpenSessionsDeps;
  /** Open sessions (and closing ones until their closed record is stored). */
  readonly #entries = new Map<string, Entry>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(deps: OpenSessionsDeps) {
    this.#deps = deps;
    this.#sweeper = setInterval(() => this.#sweep(), deps.sweepMs);
    this.#sweeper.unref();
  }

  add(entry: Entry): void {
    this.#entries.set(entry.session.id, entry);
  }

  get openCount(): number {
    let open = 0;
    for (const entry of this.#entries.values()) if (entry.session.status !== 'closed') open++;
    return open;
  }

  /** The sessions held here now (open, paused or closing). */
  entries(): Entry[] {
    return [...this.#entries.values()];
  }

  /**
   * Lets a paused session go without closing it (NATS: another worker resumes it from its image, which stays):
   * it leaves this process, its in-flight slot is given back.
   */
  release(entry: Entry): void {
    if (this.#entries.get(entry.session.id) !== entry || entry.sandbox !== null) return;
    this.#entries.delete(entry.session.id);
    entry.admission.release();
  }

  /** Stops the sweep and closes every session (reason `shutdown`). */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#entries.values()].map((entry) => this.close(entry, 'shutdown')));
  }

  /** The caller's session: an open one in memory (entry), or a closed one from the store. */
  async find(
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
  async openEntry(headers: Record<string, unknown>, id: string): Promise<{ caller: Caller; entry: Entry }> {
    const caller = await this.#deps.authorizer.authenticate(headers);
    const { entry, session } = await this.find(caller, id);
    if (!entry || session.status === 'closed') {
      throw new AirlockError(
        'session_closed',
        `session ${id} is closed (${session.closed_reason ?? 'closing'})`,
      );
    }
    return { caller, entry };
  }

  /** Makes `lease` the session's sandbox: its end (unless it was replaced by then) ends the session. */
  attach(entry: Entry, lease: SessionLease): void {
    entry.sandbox = lease;
    void lease.ended.then((end) => {
      if (entry.sandbox === lease) void this.close(entry, end);
    });
  }

  /** Writes the session's record; a failure is logged (the session goes on, its record lags). */
  async store(entry: Entry): Promise<void> {
    this.#deps.beforeRecord?.(entry);
    await this.#deps.store.sessions
      .putSession({ ...entry.session })
      .catch((err: unknown) =>
        this.#deps.logger.error({ err, session: entry.session.id }, 'storing a session failed'),
      );
  }

  touch(entry: Entry): void {
    const now = Date.now();
    entry.lastUsedMs = now;
    if (entry.session.status === 'closed') return;
    entry.session.last_used_at = iso(now);
    entry.session.expires_at = iso(expiresAtMs(entry));
  }

  close(entry: Entry, reason: SessionClosedReason): Promise<void> {
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
      await this.#deps.dropPauseImage(entry);
      await this.#deps.audit
        .append(sessionClosedEntry(session))
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit append failed'));
      // From here on the closed session lives in the store only.
      await this.store(entry);
      if (this.#entries.get(session.id) === entry) this.#entries.delete(session.id);
    })();
    return entry.closed;
  }

  #sweep(): void {
    const now = Date.now();
    for (const entry of this.#entries.values()) {
      if (entry.session.status === 'closed') continue;
      if (now >= entry.lifetimeEndsMs) void this.close(entry, 'max_lifetime');
      else if (entry.running || now < entry.lastUsedMs + entry.idleMs) continue;
      else if (entry.session.on_idle === 'close') void this.close(entry, 'idle_timeout');
      else if (entry.session.status !== 'paused' && entry.idlePause === null) {
        // Cleared once settled, so its next use finds the session paused (or closed).
        entry.idlePause = this.#deps.pauseIdle(entry).finally(() => {
          entry.idlePause = null;
        });
      }
    }
  }
}
