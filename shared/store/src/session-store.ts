// The store of session records: every session from its opening to the end of its retention after it closed.
// The sandbox of an open session lives in the service's memory; only its record is kept here, so a closed
// session is readable without holding anything in memory, and a session open at a crash can be closed on the
// next start. Must never show one tenant's session to another, and never forget a session that is not closed.

import type { Session, SessionLanguage, SessionStatus } from '@airlock/protocol';
import type { PageQuery } from './page-query.ts';

/** Filters of a session listing, on top of the filters and page of every listing. */
export interface SessionListQuery extends PageQuery {
  status?: SessionStatus;
  language?: SessionLanguage;
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
