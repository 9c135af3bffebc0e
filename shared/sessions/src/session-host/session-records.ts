// The sessions of NATS mode as every gateway and worker reads them: one entry per session in the KV bucket
// `airlock-sessions` (file storage, history 1, max age = the retention plus the longest lifetime), key = the
// session id, value = the session record every surface returns plus where it lives: the worker hosting it (null
// once closed), its idle and lifetime bounds, the image it is paused on, its latest snapshot and whether it
// resumes after its worker is lost. It is the session's SessionStore (put, get, list) and the routing table; a
// move to another worker or an end for a lost worker is a compare-and-set on the entry's revision, so two
// gateways cannot move one session to two workers. It must never show a session to another tenant.

import { Session } from '@airlock/protocol';
import { bucketKeys } from '@airlock/queue';
import type { SessionListQuery, SessionPage, SessionStore } from '@airlock/store';
import { type JetStreamManager, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';

export const SESSIONS_BUCKET = 'airlock-sessions';

/** Where a session lives and what a worker taking it over needs, beside the session record. */
export const Placement = z.object({
  /** The worker hosting it (its heartbeat id); null once closed. */
  worker: z.string().nullable(),
  idle_ms: z.number(),
  lifetime_ends_ms: z.number(),
  /** The image it is paused on (a pause image, or the snapshot it resumes from); null while it runs. */
  paused: z.string().nullable(),
  latest_snapshot: z.string().nullable(),
  resume_on_worker_loss: z.boolean(),
});
export type Placement = z.infer<typeof Placement>;

export const HostedSession = Placement.extend({ session: Session });
export type HostedSession = z.infer<typeof HostedSession>;

export interface SessionRecordsOptions {
  connection: NatsConnection;
  /** How long entries live unwritten: at least the retention of a closed session plus the longest lifetime. */
  maxAgeMs: number;
}

export class SessionRecords implements SessionStore {
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  /** What this process knows of where its own sessions live (the worker's open sessions). */
  readonly #placed = new Map<string, Placement>();

  private constructor(kv: KV, jsm: JetStreamManager) {
    this.#kv = kv;
    this.#jsm = jsm;
  }

  static async open(options: SessionRecordsOptions): Promise<SessionRecords> {
    const kv = await new Kvm(options.connection).create(SESSIONS_BUCKET, {
      history: 1,
      ttl: options.maxAgeMs,
      storage: StorageType.File,
    });
    return new SessionRecords(kv, await jetstreamManager(options.connection));
  }

  /** Where this process's session lives now, written with its next record. */
  place(id: string, placement: Placement): void {
    this.#placed.set(id, placement);
  }

  /** Writes the record with this process's placement of it, else the one stored (a record of another's). */
  async putSession(session: Session): Promise<void> {
    const placed = this.#placed.get(session.id) ?? (await this.read(session.id))?.hosted;
    const placement: Placement = placed ?? {
      worker: null,
      idle_ms: 0,
      lifetime_ends_ms: 0,
      paused: null,
      latest_snapshot: null,
      resume_on_worker_loss: false,
    };
    const closed = session.status === 'closed';
    const hosted: HostedSession = {
      ...placement,
      ...(closed ? { worker: null, paused: null } : {}),
      session,
    };
    await this.#kv.put(session.id, JSON.stringify(hosted));
    if (closed) this.#placed.delete(session.id);
  }

  async getSession(tenant: string, id: string): Promise<Session | undefined> {
    const found = await this.read(id);
    return found?.hosted.session.tenant === tenant ? found.hosted.session : undefined;
  }

  /** The entry of session `id` with its revision (for a compare-and-set), or undefined. */
  async read(id: string): Promise<{ hosted: HostedSession; revision: number } | undefined> {
    if (!/^ses_[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const entry = await this.#kv.get(id);
    if (entry?.operation !== 'PUT') return undefined;
    const parsed = HostedSession.safeParse(entry.json());
    return parsed.success ? { hosted: parsed.data, revision: entry.revision } : undefined;
  }

  /** Writes `hosted` only if the entry is still at `revision`; false when someone changed it first. */
  async replace(hosted: HostedSession, revision: number): Promise<boolean> {
    try {
      await this.#kv.update(hosted.session.id, JSON.stringify(hosted), revision);
      return true;
    } catch {
      return false;
    }
  }

  async openSessions(): Promise<Session[]> {
    return (await this.#all()).filter((s) => s.status !== 'closed');
  }

  /** Newest first; the cursor is the last session's `created_at|id`. */
  async listSessions(tenant: string, query: SessionListQuery): Promise<SessionPage> {
    const after = query.cursor;
    const matching = (await this.#all())
      .filter((s) => s.tenant === tenant && matches(s, query))
      .sort((a, b) => keyOf(b).localeCompare(keyOf(a)))
      .filter((s) => after === undefined || keyOf(s) < after);
    const sessions = matching.slice(0, query.limit);
    const last = sessions.at(-1);
    return {
      sessions,
      nextCursor: matching.length > query.limit && last ? keyOf(last) : null,
    };
  }

  async #all(): Promise<Session[]> {
    const ids = await bucketKeys(this.#jsm, SESSIONS_BUCKET);
    const found = await Promise.all(ids.map((id) => this.read(id)));
    return found.flatMap((f) => (f ? [f.hosted.session] : []));
  }
}

const keyOf = (session: Session) => `${session.created_at}|${session.id}`;

function matches(session: Session, query: SessionListQuery): boolean {
  if (query.status !== undefined && session.status !== query.status) return false;
  if (query.language !== undefined && session.language !== query.language) return false;
  if (query.backend !== undefined && session.backend !== query.backend) return false;
  if (query.template !== undefined && session.template !== query.template) return false;
  if (query.createdAfter !== undefined && !(session.created_at > query.createdAfter)) return false;
  if (query.createdBefore !== undefined && !(session.created_at < query.createdBefore)) return false;
  for (const [key, value] of Object.entries(query.labels ?? {})) {
    if (session.metadata[key] !== value) return false;
  }
  return true;
}
