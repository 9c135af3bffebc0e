// @airlock/auth: intent tokens (verify, keys), tenant policy, the effective capability, replay, rate and
// quota accounting. Explicit exports only; the test issuer is on its own subpath, `@airlock/auth/testing`.

export { bearerToken } from './bearer.ts';
export {
  type Capability,
  type CapabilityDecision,
  type CapabilityRequest,
  effectiveCapability,
  narrowCeilings,
  narrowPolicy,
} from './capability.ts';
export { IntentClaim, MAX_ACT_DEPTH, TokenClaims } from './claims.ts';
export { AuthConfigError } from './config-error.ts';
export {
  AllowedBackend,
  CredentialName,
  HostPattern,
  LimitCeilings,
  TenantName,
} from './constraints.ts';
export { hostAllowed, hostPatternCovers } from './hosts.ts';
export { checkPublicJwks } from './jwks.ts';
export { type JwksFileKeySourceOptions, jwksFileKeySource } from './jwks-file.ts';
export { type JwksUrlKeySourceOptions, jwksUrlKeySource } from './jwks-url.ts';
export { jwksKeySource, type KeySource } from './key-source.ts';
export {
  type OccupancyDecision,
  type OccupancyTicket,
  type TenantCounts,
  TenantOccupancy,
  type TenantOccupancyOptions,
  type TenantQuota,
} from './occupancy.ts';
export { OPERATOR_SCOPE, operatorRefusal } from './operator.ts';
export { type RateDecision, TenantRateLimiter, type TenantRateLimiterOptions } from './rate-limiter.ts';
export {
  maxExecutionsFor,
  ReplayGuard,
  type ReplayGuardOptions,
  type TokenUse,
  type TokenUseDecision,
} from './replay-guard.ts';
export { generateSigningKeys, type MintOptions, mintIntentToken, type SigningKeys } from './signing.ts';
export {
  SnapshotAllowance,
  type SnapshotCeilings,
  type SnapshotDecision,
  snapshotCeilings,
} from './snapshot-ceilings.ts';
export {
  loadTenantPolicies,
  parseTenantPolicies,
  type TenantPolicies,
  TenantPolicy,
  TenantPolicyFile,
  WebhookSubscription,
} from './tenant-policy.ts';
export {
  IntentTokenVerifier,
  type IntentTokenVerifierOptions,
  type Principal,
  TOKEN_ALGORITHMS,
  type TokenAlgorithm,
} from './verifier.ts';
