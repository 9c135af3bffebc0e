// Test fixtures of the gateway's unit tests: a TokenAuthorizer over a throwaway test issuer's real keys and a
// one-tenant policy (`acme`) a test can override, and the Authorization header of a token. For tests only:
// not exported from the package.

import { IntentTokenVerifier, jwksKeySource, parseTenantPolicies, TOKEN_ALGORITHMS } from '@airlock/auth';
import { TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '@airlock/auth/testing';
import { TokenAuthorizer } from './token-authorizer.ts';

/** The request limits of a test gateway (`buildGateway`'s `limits`): small bounds, the real server's ceilings. */
export const GATEWAY_TEST_LIMITS = {
  bodyLimitBytes: 65_536,
  maxWaitSeconds: 5,
  maxWatchers: 4,
  defaults: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 128, output_bytes: 1_048_576 },
  ceilings: { wall_time_ms: 60_000, cpu_time_ms: 60_000, memory_mb: 1024, output_bytes: 16_777_216 },
};

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
