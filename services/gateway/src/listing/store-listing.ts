// The listing a gateway serves from one SQLite store (the embedded mode, and the listing tests): cursors sealed
// with the store's own key, executions and sessions listed from the store's records, and the lifecycle feed
// read from the store's event log and woken by its in-process feed.
// Invariant: every list reads the store the records are written to, so a listing shows what was stored.

import type {
  EventingExecutionStore,
  EventingSessionStore,
  LifecycleEventFeed,
  SqliteStore,
} from '@airlock/store';
import type { GatewayDeps } from '../app.ts';
import { CursorSeal } from './cursor-seal.ts';

export function storeListing(
  store: SqliteStore,
  records: { executions: EventingExecutionStore; sessions: EventingSessionStore },
  events: LifecycleEventFeed,
): NonNullable<GatewayDeps['listing']> {
  return {
    cursors: new CursorSeal(store.cursorKey()),
    listExecutions: (tenant, query) => records.executions.list(tenant, query),
    listSessions: (tenant, query) => records.sessions.listSessions(tenant, query),
    feed: { log: store.events, events },
  };
}
