// Who is asking and what they may run. Two implementations: local development mode (everyone is tenant
// `local`, nothing is narrowed) and intent tokens (token-authorizer.ts). A grant must be released exactly once,
// when its execution finishes or its submission fails.

import type { ExecutionRequest, ResolvedLimits } from '@airlock/protocol';
import type { BackendName } from '@airlock/sandbox';

/** The caller of a request, as recorded in the audit log. */
export interface Caller {
  tenant: string;
  subject: string | null;
  issuer: string | null;
  jti: string | null;
  /** RFC 8693 delegation chain, recorded as is. */
  act: unknown;
}

export interface SubmissionGrant {
  /** Backends `auto` may choose from; undefined means any the server runs. */
  backends: readonly BackendName[] | undefined;
  /** Ceilings below the server's, per limit. */
  ceilings: { [K in keyof ResolvedLimits]?: number | undefined };
  /** The effective capability, for the audit record; null in local mode. */
  capability: unknown;
  release(): void;
}

export interface Authorizer {
  readonly mode: 'local' | 'token';
  /** Throws AirlockError `unauthorized`. */
  authenticate(headers: Record<string, unknown>): Promise<Caller>;
  /**
   * Throws AirlockError `forbidden`, `rate_limited` or `quota_exceeded`. `session`: opening a session (it holds
   * one in-flight slot until it closes) or a cell of one (checked like an execution; the session's slot covers it).
   */
  authorizeSubmission(caller: Caller, request: ExecutionRequest, session?: 'open' | 'cell'): SubmissionGrant;
}

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
  authorizeSubmission: () => ({ backends: undefined, ceilings: {}, capability: null, release: () => {} }),
};
