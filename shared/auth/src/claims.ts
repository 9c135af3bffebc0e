// The claims of an intent token: the registered JWT claims Airlock requires, the tenant, the RFC 8693 `act`
// delegation chain, and the `intent` claim that narrows what the token may do. Must never accept an intent
// field it does not know: an unknown constraint cannot be enforced, so the token is refused instead.

import { Actor, Language, TemplateName } from '@airlock/protocol';
import { z } from 'zod';
import { AllowedBackend, CredentialName, HostPattern, LimitCeilings, TenantName } from './constraints.ts';
import { SnapshotAllowance } from './snapshot-ceilings.ts';

/** How deep an `act` chain may nest before the token is refused. */
export const MAX_ACT_DEPTH = 8;

/** What the token allows at most; an absent field adds no narrowing beyond the tenant policy. */
export const IntentClaim = z.strictObject({
  languages: z.array(Language).max(16).optional(),
  backends: z.array(AllowedBackend).max(16).optional(),
  /** Templates a request may name (within the tenant policy's). */
  templates: z.array(TemplateName).max(64).optional(),
  limits: LimitCeilings.optional(),
  egress_hosts: z.array(HostPattern).max(256).optional(),
  credentials: z.array(CredentialName).max(64).optional(),
  sessions: z.boolean().optional(),
  /** Session snapshots: false forbids them; quotas narrow the tenant policy's and the server's. */
  snapshots: SnapshotAllowance.optional(),
  /** Hosts a request's callback URL may name (within the tenant policy's). */
  callback_hosts: z.array(HostPattern).max(64).optional(),
  /** How many executions this token's jti may start; absent means the configured default (normally 1). */
  max_executions: z.int().min(1).max(1_000_000).optional(),
});
export type IntentClaim = z.infer<typeof IntentClaim>;

const BoundedActor = z.unknown().superRefine((value, ctx) => {
  let depth = 0;
  for (
    let link: unknown = value;
    typeof link === 'object' && link !== null;
    link = (link as { act?: unknown }).act
  ) {
    depth += 1;
    if (depth > MAX_ACT_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `nests deeper than ${MAX_ACT_DEPTH} actors` });
      return;
    }
  }
});

/** The claims set as Airlock requires it (after jose has checked signature, iss, aud and the timestamps). */
export const TokenClaims = z.looseObject({
  iss: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  iat: z.number(),
  nbf: z.number().optional(),
  jti: z.string().min(1).max(256),
  sub: z.string().min(1).max(256),
  tenant: TenantName,
  // Depth is checked before the recursive parse, so a hostile chain cannot make the parser recurse deeply.
  act: BoundedActor.pipe(Actor).optional(),
  intent: IntentClaim.optional(),
  /** OAuth-style space-separated scopes (RFC 8693 §4.2); `airlock:operator` asks for the operator console. */
  scope: z.string().max(1024).optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;
