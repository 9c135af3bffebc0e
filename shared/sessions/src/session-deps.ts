// What the sessions are built from: the server's session settings and the services they use, passed in by
// main.ts (nothing here reads the environment), and the one way a refused session request is audited.
// A refusal's audit failure is logged, never thrown over the refusal itself.

import { type AuditSink, rejectedEntry } from '@airlock/audit';
import type { AirlockError, Caller, LimitPolicy, SessionOnIdle } from '@airlock/protocol';
import type { ExecutionStore, SessionStore } from '@airlock/store';
import { recordRefusal } from './admission/admission.ts';
import type { Authorizer } from './admission/authorizer.ts';
import type { Callbacks } from './callbacks.ts';
import type { SessionBackends } from './session-backends.ts';
import type { Entry } from './session-entry.ts';
import type { SnapshotStore } from './snapshots/snapshot-store.ts';

export interface SessionSettings {
  idleSeconds: { default: number; ceiling: number };
  lifetimeSeconds: { default: number; ceiling: number };
  /** Open sessions across all tenants. */
  maxSessions: number;
  /** Largest file the files API moves in or out. @default 8 MiB */
  fileBytes?: number;
  /** How often expiry is checked. @default 1000 */
  sweepMs?: number;
  /**
   * What the idle timeout does to a session whose request does not say: `pause` where its backend can
   * snapshot (else `close`), or `close`. @default close
   */
  onIdle?: SessionOnIdle;
}

export interface SessionsDeps {
  backends: SessionBackends;
  audit: AuditSink;
  authorizer: Authorizer;
  limits: LimitPolicy;
  settings: SessionSettings;
  /** Where cells (executions) and session records are kept; retention is the store's. */
  store: { executions: ExecutionStore; sessions: SessionStore };
  logger: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /**
   * Checks and delivers a session's callback and the tenant's webhooks.
   * @default none: a request naming a callback is refused with `callback_refused`
   */
  webhooks?: Callbacks;
  /**
   * Where session snapshots and pause images are kept.
   * @default none: snapshots, forks and pauses answer `snapshot_unsupported`
   */
  snapshots?: SnapshotStore;
  /**
   * Called before each write of a session's record, with the session as held here (NATS mode: the worker's
   * session store keeps where the session lives beside its record). @default none
   */
  beforeRecord?: (entry: Entry) => void;
}

/** The `rejected` audit record of a refused session request or cell. */
export async function auditRefusal(
  deps: Pick<SessionsDeps, 'audit' | 'logger'>,
  caller: Caller | undefined,
  error: AirlockError,
  language?: string,
): Promise<void> {
  await recordRefusal(deps.audit, rejectedEntry(caller, error, language), error.code, (err) =>
    deps.logger.error({ err }, 'audit append failed'),
  );
}
