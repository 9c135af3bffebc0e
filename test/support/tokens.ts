// A service that requires intent tokens, for tests: a throwaway issuer's public keys and the tenants' policies
// written to a temp dir, the AIRLOCK_* settings that point a service at them, and the bearer header of a token.
// The issuer is @airlock/auth/testing's; its private key never leaves memory.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '@airlock/auth/testing';

/**
 * A tenant policy: javascript and typescript on the isolate, 128 MB and 20 s at most, 2 running and 2 queued,
 * 1000 submissions a minute; `overrides` replace whole fields.
 */
export function tenantPolicy(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    languages: ['javascript', 'typescript'],
    backends: ['isolate'],
    limits: { memory_mb: 128, wall_time_ms: 20_000 },
    max_concurrent: 2,
    max_queued: 2,
    submissions_per_minute: 1000,
    ...overrides,
  };
}

/** Writes the issuer's keys and the policies into `dir`; answers the settings that make a service use them. */
export async function tokenSettings(
  dir: string,
  issuer: TestIssuer,
  tenants: Record<string, unknown>,
): Promise<Record<string, string>> {
  await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
  await writeFile(join(dir, 'tenants.json'), JSON.stringify({ tenants }));
  return {
    AIRLOCK_JWKS_FILE: join(dir, 'jwks.json'),
    AIRLOCK_TOKEN_ISSUERS: TEST_ISSUER,
    AIRLOCK_TOKEN_AUDIENCE: TEST_AUDIENCE,
    AIRLOCK_TENANT_POLICY_FILE: join(dir, 'tenants.json'),
  };
}

/** The Authorization header of a token, with any other headers. */
export const bearer = (token: string, extra: Record<string, string> = {}): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...extra,
});
