// Public surface of @airlock/store: the ExecutionStore and SessionStore interfaces every mode implements, and
// the embedded implementation on SQLite. Internals (schema, codecs, retention) stay unexported.

export type * from './execution-store.ts';
export { EventingExecutionStore, EventingSessionStore, executionData } from './lifecycle-emitters.ts';
export {
  LifecycleEventFeed,
  type LifecycleEventListener,
  type LifecycleEventLog,
  type LifecycleEventRead,
  type LifecycleEvents,
  type LoggedLifecycleEvent,
  type NewLifecycleEvent,
  newEventId,
} from './lifecycle-events.ts';
export type { PageQuery } from './page-query.ts';
export type * from './session-store.ts';
export { StoreInUseError } from './sqlite/database.ts';
export type { EventRetention } from './sqlite/sqlite-events.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts';
export { type StoreHealth, storeUnavailable } from './write-health.ts';
