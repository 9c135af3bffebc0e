// Intent-token authorization: verify the broker's token, then refuse anything beyond request ∩ intent ∩ tenant
// policy (never clamp), spend one use of the token's jti, and apply the tenant's rate and in-flight quota.
// Order matters: a refused request does not spend the token.

import {
  bearerToken,
  effectiveCapability,
  type IntentTokenVerifier,
  maxExecutionsFor,
  type Principal,
  ReplayGuard,
  TenantOccupancy,
  type TenantPolicies,
  TenantRateLimiter,
} from '@airlock/auth';
import { AirlockError, type ExecutionRequest } from '@airlock/protocol';
import type { Authorizer, Caller, SubmissionGrant } from './authorizer.ts';

export interface TokenAuthorizerOptions {
  verifier: IntentTokenVerifier;
  policies: TenantPolicies;
  /** Executions one jti may start unless its intent says otherwise. */
  defaultMaxExecutions: number;
}

interface TokenCaller extends Caller {
  principal: Principal;
}

export class TokenAuthorizer implements Authorizer {
  readonly mode = 'token' as const;
  readonly #options: TokenAuthorizerOptions;
  readonly #replay = new ReplayGuard();
  readonly #rate: TenantRateLimiter;
  readonly #occupancy: TenantOccupancy;

  constructor(options: TokenAuthorizerOptions) {
    this.#options = options;
    const policyOf = (tenant: string) => options.policies.forTenant(tenant);
    this.#rate = new TenantRateLimiter({
      submissionsPerMinute: (t) => policyOf(t)?.submissions_per_minute ?? 0,
    });
    this.#occupancy = new TenantOccupancy({
      quotaOf: (t) => policyOf(t) ?? { max_concurrent: 0, max_queued: 0 },
    });
  }

  async authenticate(headers: Record<string, unknown>): Promise<Caller> {
    const header = headers.authorization;
    const token = bearerToken(typeof header === 'string' ? header : undefined);
    const principal = await this.#options.verifier.verify(token);
    const caller: TokenCaller = {
      tenant: principal.tenant,
      subject: principal.subject,
      issuer: principal.issuer,
      jti: principal.jti,
      act: principal.act,
      principal,
    };
    return caller;
  }

  authorizeSubmission(caller: Caller, request: ExecutionRequest, session?: 'open' | 'cell'): SubmissionGrant {
    const principal = (caller as TokenCaller).principal;
    if (!principal) throw new AirlockError('unauthorized', 'missing token: the caller was not authenticated');
    const policy = this.#options.policies.forTenant(principal.tenant);
    if (!policy)
      throw new AirlockError('forbidden', `tenant '${principal.tenant}' has no policy on this server`);
    // egress (issue #4): the run's egress hosts and credentials narrow like everything else (never widen).
    const network = request.network;
    const egress =
      network.egress === 'proxy'
        ? { egress_hosts: network.allow.map((rule) => rule.host), credentials: network.credentials }
        : {};
    const decision = effectiveCapability(
      { ...request, ...egress, session: session !== undefined },
      principal,
      policy,
    );
    if (!decision.ok) throw new AirlockError('forbidden', decision.reason, { field: decision.field });
    if (!this.#replay.use(principal, maxExecutionsFor(principal, this.#options.defaultMaxExecutions))) {
      throw new AirlockError('forbidden', `token replayed: jti '${principal.jti}' has no executions left`);
    }
    const rate = this.#rate.take(principal.tenant);
    if (!rate.ok) {
      throw new AirlockError('rate_limited', `tenant '${principal.tenant}' submission rate exhausted`, {
        retryAfter: rate.retryAfterSeconds,
      });
    }
    const { capability } = decision;
    if (session === 'cell') {
      return { backends: capability.backends, ceilings: capability.ceilings, capability, release: () => {} };
    }
    const admitted = this.#occupancy.acquire(principal.tenant);
    if (!admitted.ok)
      throw new AirlockError('quota_exceeded', admitted.reason, { retryAfter: admitted.retryAfterSeconds });
    return {
      backends: capability.backends,
      ceilings: capability.ceilings,
      capability,
      release: () => admitted.ticket.release(),
    };
  }
}
