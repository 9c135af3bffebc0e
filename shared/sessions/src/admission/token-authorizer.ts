// Intent-token authorization: verify the broker's token and refuse anything beyond request ∩ intent ∩ tenant
// policy (never clamp). Admission is separate: reserve one use of the token's jti, one of the tenant's rate and
// an in-flight slot of its quota, all given back if the submission is refused after all, so a refused request
// spends nothing. Must never let two concurrent submissions take the same last use of a token.

import {
  bearerToken,
  effectiveCapability,
  type IntentTokenVerifier,
  maxExecutionsFor,
  type OccupancyTicket,
  operatorRefusal,
  type Principal,
  ReplayGuard,
  type SnapshotCeilings,
  snapshotCeilings,
  TenantOccupancy,
  type TenantPolicies,
  TenantRateLimiter,
} from '@airlock/auth';
import { AirlockError, type Caller, type ExecutionRequest } from '@airlock/protocol';
import type { Admission, AdmissionKind, Authorizer, SubmissionGrant } from './authorizer.ts';

export interface TokenAuthorizerOptions {
  verifier: IntentTokenVerifier;
  policies: TenantPolicies;
  /** Executions one jti may start unless its intent says otherwise. */
  defaultMaxExecutions: number;
}

export class TokenAuthorizer implements Authorizer {
  readonly mode = 'token' as const;
  readonly #options: TokenAuthorizerOptions;
  readonly #replay = new ReplayGuard();
  readonly #rate: TenantRateLimiter;
  readonly #occupancy: TenantOccupancy;
  /** The principals this authorizer verified: the only callers it authorizes. */
  readonly #verified = new WeakSet<Caller>();

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

  async authenticate(headers: Record<string, unknown>): Promise<Principal> {
    const header = headers.authorization;
    const token = bearerToken(typeof header === 'string' ? header : undefined);
    const principal = await this.#options.verifier.verify(token);
    this.#verified.add(principal);
    return principal;
  }

  authorizeSubmission(caller: Caller, request: ExecutionRequest, session?: 'open' | 'cell'): SubmissionGrant {
    const principal = this.#principalOf(caller);
    const policy = this.#options.policies.forTenant(principal.tenant);
    if (!policy)
      throw new AirlockError('forbidden', `tenant '${principal.tenant}' has no policy on this server`);
    // The run's egress hosts and credentials narrow like everything else (never widen).
    const network = request.network;
    const egress =
      network.egress === 'proxy'
        ? { egress_hosts: network.allow.map((rule) => rule.host), credentials: network.credentials }
        : {};
    const callback = request.callback ? callbackHost(request.callback.url) : undefined;
    const decision = effectiveCapability(
      {
        ...request,
        ...egress,
        session: session !== undefined,
        ...(callback === undefined ? {} : { callback_host: callback }),
      },
      principal,
      policy,
    );
    if (!decision.ok) throw new AirlockError('forbidden', decision.reason, { field: decision.field });
    const { capability } = decision;
    return { backends: capability.backends, ceilings: capability.ceilings, capability };
  }

  reserve(caller: Caller, kind: AdmissionKind): Admission {
    const principal = this.#principalOf(caller);
    const { tenant, jti } = principal;
    const token = this.#replay.reserve(
      principal,
      maxExecutionsFor(principal, this.#options.defaultMaxExecutions),
    );
    if (!token.ok) {
      const why =
        token.reason === 'pending'
          ? 'its last executions are being taken by submissions in progress'
          : 'has no executions left';
      throw new AirlockError('forbidden', `token replayed: jti '${jti}' ${why}`);
    }
    const rate = this.#rate.take(tenant);
    if (!rate.ok) {
      token.use.release();
      throw new AirlockError('rate_limited', `tenant '${tenant}' submission rate exhausted`, {
        retryAfter: rate.retryAfterSeconds,
      });
    }
    let slot: OccupancyTicket | undefined;
    if (kind !== 'cell') {
      const admitted = this.#occupancy.acquire(tenant);
      if (!admitted.ok) {
        this.#rate.refund(tenant);
        token.use.release();
        throw new AirlockError('quota_exceeded', admitted.reason, { retryAfter: admitted.retryAfterSeconds });
      }
      slot = admitted.ticket;
    }
    let state: 'reserved' | 'committed' | 'released' = 'reserved';
    return {
      commit: () => {
        if (state !== 'reserved') return;
        state = 'committed';
        token.use.commit();
      },
      start: () => state !== 'released' && (slot?.start() ?? true),
      release: () => {
        if (state === 'released') return;
        if (state === 'reserved') {
          token.use.release();
          this.#rate.refund(tenant);
        }
        state = 'released';
        slot?.release();
      },
    };
  }

  authorizeOperator(caller: Caller): void {
    const principal = this.#principalOf(caller);
    const refusal = operatorRefusal(principal, this.#options.policies.forTenant(principal.tenant));
    if (refusal !== undefined) throw new AirlockError('forbidden', refusal);
  }

  authorizeSnapshots(who: Caller | { tenant: string }): SnapshotCeilings {
    const intent = 'subject' in who ? this.#principalOf(who).intent : undefined;
    const policy = this.#options.policies.forTenant(who.tenant);
    if (!policy) throw new AirlockError('forbidden', `tenant '${who.tenant}' has no policy on this server`);
    const decision = snapshotCeilings(policy.snapshots, intent?.snapshots);
    if (!decision.ok) throw new AirlockError('forbidden', decision.reason, { field: decision.field });
    return decision.ceilings;
  }

  #principalOf(caller: Caller): Principal {
    if (!this.#isVerified(caller)) {
      throw new AirlockError('unauthorized', 'missing token: the caller was not authenticated');
    }
    return caller;
  }

  #isVerified(caller: Caller): caller is Principal {
    return this.#verified.has(caller);
  }
}

/** The host a callback URL names, as the policies' host patterns spell it ('' when it has none). */
function callbackHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  } catch {
    return '';
  }
}
