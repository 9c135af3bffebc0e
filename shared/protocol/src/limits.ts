// Applies the server's defaults and ceilings to the limits a request asks for. Never clamps silently:
// a request above a ceiling is refused, naming the field and the ceiling.

import { AirlockError } from './errors.ts';
import { ResolvedLimits } from './execution.ts';
import type { LimitsInput } from './request.ts';

/** The limits of a run, by name: the one list every ceiling, default and narrowing goes through. */
export const LIMIT_KEYS = ResolvedLimits.keyof().options;
export type LimitKey = keyof ResolvedLimits;

/** The refusal of a limit above the server ceiling; the one wording for it. */
export function aboveServerCeiling(value: unknown, ceiling: number): string {
  return `${String(value)} is above the server ceiling of ${ceiling}`;
}

export interface LimitPolicy {
  defaults: ResolvedLimits;
  ceilings: ResolvedLimits;
}

export function resolveLimits(requested: LimitsInput, policy: LimitPolicy): ResolvedLimits {
  const resolved = { ...policy.defaults };
  for (const key of LIMIT_KEYS) {
    const asked = requested[key];
    if (asked === undefined) {
      resolved[key] = Math.min(policy.defaults[key], policy.ceilings[key]);
      continue;
    }
    if (asked > policy.ceilings[key]) {
      throw new AirlockError(
        'invalid_request',
        `limits.${key}: ${aboveServerCeiling(asked, policy.ceilings[key])}`,
        {
          field: `limits.${key}`,
        },
      );
    }
    resolved[key] = asked;
  }
  return resolved;
}
