// Test fixtures of the sessions' and the gateway's unit tests (@airlock/sessions/testing): a TokenAuthorizer over
// a throwaway test issuer's real keys and a one-tenant policy (`acme`) a test can override, and the Authorization
// header of a token. For tests only: not exported from the package's entry.

import { IntentTokenVerifier, jwksKeySource, parseTenantPolicies, TOKEN_ALGORITHMS } from '@airlock/auth';
import { TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '@airlock/auth/testing';
import { TokenAuthorizer } from './admission/token-authorizer.ts';

/** The policy of tenant `acme`: javascript on the isolate, 4 running and 4 queued, 100 submissions a minute. */
export function acmePolicy(overrides: Record<string, unknown> = {}) {
  return {
    languages: ['javascript'],
    backends: ['isolate'],
    max_concurrent: 4,
    max_queued: 4,
    submissions_per_minute: 100,
    ...overrides,
  };
}

/** A verifier of `issuer`'s tokens for the test audience, at most 10 minutes long. */
export function testVerifier(issuer: TestIssuer): IntentTokenVerifier {
  return new IntentTokenVerifier({
    keys: jwksKeySource(issuer.jwks),
    issuers: [TEST_ISSUER],
    audience: TEST_AUDIENCE,
    maxLifetimeSeconds: 600,
    algorithms: TOKEN_ALGORITHMS,
  });
}

/** A TokenAuthorizer trusting `issuer`, with `acme`'s policy (overridden) and one execution per jti. */
export function tokenAuthorizer(
  issuer: TestIssuer,
  overrides: Record<string, unknown> = {},
): TokenAuthorizer {
  const verifier = testVerifier(issuer);
  const policies = parseTenantPolicies({ tenants: { acme: acmePolicy(overrides) } }, 'test');
  return new TokenAuthorizer({ verifier, policies, defaultMaxExecutions: 1 });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
