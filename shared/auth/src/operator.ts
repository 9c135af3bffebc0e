// The operator console's permission: a token whose `scope` claim names OPERATOR_SCOPE, of a tenant whose policy
// says `operator: true`. Both are needed: the issuer grants the scope per token, the server's policy file says
// which tenants may hold it. Must never grant it from either half alone.

import type { TenantPolicy } from './tenant-policy.ts';
import type { Principal } from './verifier.ts';

/** The scope a token carries to open the operator console. */
export const OPERATOR_SCOPE = 'airlock:operator';

/** Why `principal` may not read the operator console, or undefined when it may. */
export function operatorRefusal(
  principal: Pick<Principal, 'tenant' | 'scopes'>,
  policy: Pick<TenantPolicy, 'operator'> | undefined,
): string | undefined {
  if (!principal.scopes.includes(OPERATOR_SCOPE)) {
    return `the token has no '${OPERATOR_SCOPE}' scope: the operator console needs an operator token`;
  }
  if (policy?.operator !== true) {
    return `tenant '${principal.tenant}' may not hold operator tokens on this server (its policy has no "operator": true)`;
  }
  return undefined;
}
