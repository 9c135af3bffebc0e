// The `snapshots` field of tenant policy and intent tokens, and the snapshot quotas of one caller: the tenant
// policy's narrowed by the intent token's, never widened. `false` on either side forbids snapshots (named: the
// tenant first, since no new token can lift it); a quota absent on both sides leaves only the server's.

import { z } from 'zod';

/**
 * What a tenant's snapshots may be: `false` none at all (taking, pausing, forking and reading them are refused),
 * `true` or absent no bound of its own, or quotas on the tenant's stored snapshots (paused sessions' images
 * included): how many, and how many bytes together.
 */
export const SnapshotAllowance = z.union([
  z.boolean(),
  z.strictObject({
    max_count: z.int().min(1).max(1_000_000).optional(),
    max_bytes: z
      .int()
      .min(1)
      .max(2 ** 50)
      .optional(),
  }),
]);
export type SnapshotAllowance = z.infer<typeof SnapshotAllowance>;

/** Bounds below the server's snapshot quota; a missing key adds no bound of its own. */
export interface SnapshotCeilings {
  max_count?: number;
  max_bytes?: number;
}

export type SnapshotDecision =
  | { ok: true; ceilings: SnapshotCeilings }
  | { ok: false; reason: string; field: 'snapshots' };

const KEYS = ['max_count', 'max_bytes'] as const;

/** tenant ∩ intent, or who forbids snapshots. */
export function snapshotCeilings(
  tenant: SnapshotAllowance | undefined,
  intent: SnapshotAllowance | undefined,
): SnapshotDecision {
  for (const [allowance, by] of [
    [tenant, 'the tenant policy'],
    [intent, 'the intent token'],
  ] as const) {
    if (allowance === false) {
      return { ok: false, reason: `snapshots are not allowed by ${by}`, field: 'snapshots' };
    }
  }
  const ceilings: SnapshotCeilings = {};
  for (const key of KEYS) {
    const bounds = [tenant, intent]
      .map((allowance) => (typeof allowance === 'object' ? allowance[key] : undefined))
      .filter((bound): bound is number => bound !== undefined);
    if (bounds.length > 0) ceilings[key] = Math.min(...bounds);
  }
  return { ok: true, ceilings };
}
