// The bounds of a session request: the server's limit policy narrowed by a grant's ceilings, and the idle and
// lifetime seconds against their defaults and ceilings. Must never raise a limit above a ceiling (a value
// above one is refused, never clamped).

import { AirlockError, type LimitPolicy, type ResolvedLimits } from '@airlock/protocol';
import type { SubmissionGrant } from '../authorizer.ts';

/** The server's limit policy narrowed by a grant's ceilings; defaults never exceed a ceiling. */
export function narrow(policy: LimitPolicy, ceilings: SubmissionGrant['ceilings']): LimitPolicy {
  const narrowed: LimitPolicy = { defaults: { ...policy.defaults }, ceilings: { ...policy.ceilings } };
  for (const key of Object.keys(policy.ceilings) as (keyof ResolvedLimits)[]) {
    const ceiling = Math.min(policy.ceilings[key], ceilings[key] ?? Number.POSITIVE_INFINITY);
    narrowed.ceilings[key] = ceiling;
    narrowed.defaults[key] = Math.min(policy.defaults[key], ceiling);
  }
  return narrowed;
}

export function seconds(
  field: string,
  asked: number | undefined,
  bounds: { default: number; ceiling: number },
): number {
  if (asked === undefined) return Math.min(bounds.default, bounds.ceiling);
  if (asked > bounds.ceiling) {
    throw new AirlockError(
      'invalid_request',
      `${field}: ${asked} is above the server ceiling of ${bounds.ceiling}`,
      {
        field,
      },
    );
  }
  return asked;
}
