// Who is asking and what they may run. Two implementations: local development mode (everyone is tenant
// `local`, nothing is narrowed) and intent tokens (token-authorizer.ts). Authorizing spends nothing; what an
// accepted submission spends (a use of the token, the tenant's rate, an in-flight slot) is reserved only once
// everything else has been checked, and committed once the execution's `accepted` record is durable.
// A reservation must be settled exactly once: committed, or released.

import type { SnapshotCeilings } from '@airlock/auth';
import type { BackendName, Caller, ExecutionRequest, ResolvedLimits } from '@airlock/protocol';

export interface SubmissionGrant {
  /** Backends `auto` may choose from; undefined means any the server runs. */
  backends: readonly BackendName[] | undefined;
  /** Ceilings below the server's, per limit. */
  ceilings: { [K in keyof ResolvedLimits]?: number | undefined };
  /** The effective capability, for the audit record; null in local mode. */
  capability: unknown;
}

/** What an accepted submission spends: one use of the token, one of the tenant's rate, an in-flight slot. */
export interface Admission {
  /** The execution is accepted: the token use and the rate allowance are spent for good. */
  commit(): void;
  /**
   * The accepted execution is about to run: true when its tenant runs fewer than `max_concurrent` executions
   * (from now on it counts as running), false while it runs that many (nothing changes: the execution stays
   * queued and asks again). Always true for what holds no slot (a cell, local development mode).
   */
  start(): boolean;
  /**
   * Before commit(): gives everything back (the submission was refused after all). After commit(): frees the
   * in-flight slot (the execution or session has ended). Later calls do nothing.
   */
  release(): void;
}

/** What is being admitted: an execution, the opening of a session, or a cell of an open session. */
export type AdmissionKind = 'execution' | 'open' | 'cell';

export interface Authorizer {
  readonly mode: 'local' | 'token';
  /** Throws AirlockError `unauthorized`. */
  authenticate(headers: Record<string, unknown>): Promise<Caller>;
  /**
   * The capability check (request ∩ intent ∩ tenant policy): throws AirlockError `forbidden`. Spends nothing.
   * `session`: opening a session or a cell of one.
   */
  authorizeSubmission(caller: Caller, request: ExecutionRequest, session?: 'open' | 'cell'): SubmissionGrant;
  /**
   * Reserves what accepting spends: one use of the token, the tenant's submission rate, and (not for a cell:
   * the session's slot covers it) one in-flight slot of the tenant's quota. Throws AirlockError `forbidden`
   * (token spent), `rate_limited` or `quota_exceeded` with nothing reserved.
   */
  reserve(caller: Caller, kind: AdmissionKind): Admission;
  /**
   * The operator console's data (service statistics, audit records): throws AirlockError `forbidden` unless the
   * caller holds an operator token. Local development mode: everyone (the server is on loopback only).
   */
  authorizeOperator(caller: Caller): void;
  /**
   * The snapshot quotas below the server's (tenant policy ∩ intent token): throws AirlockError `forbidden` when
   * either forbids snapshots. A bare `{ tenant }` (a pause the server makes with no request behind it): the
   * tenant policy's alone.
   */
  authorizeSnapshots(who: Caller | { tenant: string }): SnapshotCeilings;
}

/** An admission that holds nothing (local development mode). */
export const FREE_ADMISSION: Admission = Object.freeze({
  commit: () => {},
  start: () => true,
  release: () => {},
});

export const LOCAL_CALLER: Caller = Object.freeze({
  tenant: 'local',
  subject: null,
  issuer: null,
  jti: null,
  act: null,
});

export const localAuthorizer: Authorizer = {
  mode: 'local',
  authenticate: async () => LOCAL_CALLER,
  authorizeSubmission: () => ({ backends: undefined, ceilings: {}, capability: null }),
  reserve: () => FREE_ADMISSION,
  authorizeOperator: () => {},
  authorizeSnapshots: () => ({}),
};
