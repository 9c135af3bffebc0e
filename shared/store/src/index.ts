// Public surface of @airlock/store: the ExecutionStore and SessionStore interfaces every mode implements, and
// the embedded implementation on SQLite. Internals (schema, codecs, retention) stay unexported.

export type {
  CreateOutcome,
  ExecutionPage,
  ExecutionStore,
  KeyHolder,
  ListQuery,
  NewExecution,
  StoreStats,
  SweepReport,
  UnfinishedExecution,
} from './execution-store.ts';
export { EventingExecutionStore, EventingSessionStore } from './lifecycle-emitters.ts';
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
export type { SessionListQuery, SessionPage, SessionStore } from './session-store.ts';
export { StoreInUseError } from './sqlite/database.ts';
export type { EventRetention } from './sqlite/sqlite-events.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts';
export { type StoreHealth, storeUnavailable } from './write-health.ts';
