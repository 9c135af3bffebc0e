// The vocabulary shared by intent claims and tenant policy: limit ceilings, backends that can be allowed,
// egress host patterns, credential names and tenant names. Must never accept a value it cannot enforce
// exactly (unknown keys are errors, not ignored).

import { Backend, canonicalEgressHost } from '@airlock/protocol';
import { z } from 'zod';

/** Upper bounds on the limits a request may ask for; a missing key adds no bound of its own. */
export const LimitCeilings = z.strictObject({
  wall_time_ms: z.int().positive().optional(),
  cpu_time_ms: z.int().positive().optional(),
  memory_mb: z.int().positive().optional(),
  output_bytes: z.int().positive().optional(),
});
export type LimitCeilings = z.infer<typeof LimitCeilings>;

/**
 * A backend an allow-list may name. `auto` is not one: it is a request to choose among the allowed
 * backends, so listing it would be ambiguous.
 */
export const AllowedBackend = Backend.refine((b) => b !== 'auto', {
  message: "'auto' is not a backend; list the backends auto may choose from",
});

/** An egress host (`api.example.com`) or wildcard (`*.example.com`), stored in canonical form. */
export const HostPattern = z.string().transform((value, ctx) => {
  const canonical = canonicalEgressHost(value);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a host name or *.domain pattern', input: value });
    return z.NEVER;
  }
  return canonical;
});

/** The name of a credential binding held by the egress proxy (never a secret value). */
export const CredentialName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a credential name of [A-Za-z0-9_.-]');

/**
 * A tenant id. No dots, so it can be a single NATS subject token; no slashes or spaces, so it is safe in
 * keys and logs.
 */
export const TenantName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a tenant id of [A-Za-z0-9_-]');
