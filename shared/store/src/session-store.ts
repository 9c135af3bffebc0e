// The store of session records: every session from its opening to the end of its retention after it closed.
// The sandbox of an open session lives in the service's memory; only its record is kept here, so a closed
// session is readable without holding anything in memory, and a session open at a crash can be closed on the
// next start. Must never show one tenant's session to another, and never forget a session that is not closed.

import type { Backend, Session, SessionLanguage, SessionStatus } from '@airlock/protocol';

/** Filters of a session listing; every given filter must match. */
export interface SessionListQuery {
  status?: SessionStatus;
  language?: SessionLanguage;
  backend?: Backend;
  /** The template the session started from (matches only sessions that name one). */
  template?: string;
  /** Metadata labels with the value each must have. */
  labels?: Readonly<Record<string, string>>;
  /** ISO times: created strictly after / strictly before. */
  createdAfter?: string;
  createdBefore?: string;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Sessions per page. */
  limit: number;
}

/** Newest first (created_at, then id, both descending); `nextCursor` is null on the last page. */
export interface SessionPage {
  sessions: Session[];
  nextCursor: string | null;
}

export interface SessionStore {
  /** Writes the session's current record (a new one, or a change of an existing one). */
  putSession(session: Session): Promise<void>;
  /** The session if it is stored, belongs to the tenant and, once closed, is within retention. */
  getSession(tenant: string, id: string): Promise<Session | undefined>;
  /** Every session not recorded as closed (crash recovery). */
  openSessions(): Promise<Session[]>;
  /** The tenant's sessions as last recorded, newest first. */
  listSessions(tenant: string, query: SessionListQuery): Promise<SessionPage>;
}
