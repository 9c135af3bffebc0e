// Chooses the authorizer from configuration: intent tokens when a JWKS file or URL is set, else local
// development mode.

import {
  IntentTokenVerifier,
  jwksFileKeySource,
  jwksUrlKeySource,
  loadTenantPolicies,
  TOKEN_ALGORITHMS,
} from '@airlock/auth';
import type { Config } from '@airlock/config';
import { type Authorizer, localAuthorizer } from './authorizer.ts';
import { TokenAuthorizer } from './token-authorizer.ts';

export async function createAuthorizer(config: Config): Promise<Authorizer> {
  const { AIRLOCK_JWKS_FILE: file, AIRLOCK_JWKS_URL: url } = config;
  if (!file && !url) return localAuthorizer;
  const keys = file ? await jwksFileKeySource({ path: file }) : jwksUrlKeySource({ url: url! });
  const verifier = new IntentTokenVerifier({
    keys,
    issuers: config.AIRLOCK_TOKEN_ISSUERS ?? [],
    audience: config.AIRLOCK_TOKEN_AUDIENCE,
    maxLifetimeSeconds: config.AIRLOCK_TOKEN_MAX_LIFETIME_SECONDS,
    algorithms: TOKEN_ALGORITHMS,
  });
  const policies = await loadTenantPolicies(config.AIRLOCK_TENANT_POLICY_FILE!);
  return new TokenAuthorizer({
    verifier,
    policies,
    defaultMaxExecutions: config.AIRLOCK_TOKEN_MAX_EXECUTIONS,
  });
}
