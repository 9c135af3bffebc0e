// The limits and timeouts of a session: the server's policy narrowed by a grant, and a requested number of
// seconds checked against its server ceiling. Must never clamp silently: above a ceiling is an error.

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
