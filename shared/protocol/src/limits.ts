// Applies the server's defaults and ceilings to the limits a request asks for. Never clamps silently:
// a request above a ceiling is refused, naming the field and the ceiling.

import { AirlockError } from './errors.ts';
import type { ResolvedLimits } from './execution.ts';
import type { LimitsInput } from './request.ts';

export interface LimitPolicy {
  defaults: ResolvedLimits;
  ceilings: ResolvedLimits;
}

const KEYS = ['wall_time_ms', 'cpu_time_ms', 'memory_mb', 'output_bytes'] as const;

export function resolveLimits(requested: LimitsInput, policy: LimitPolicy): ResolvedLimits {
  const resolved = { ...policy.defaults };
  for (const key of KEYS) {
    const asked = requested[key];
    if (asked === undefined) {
      resolved[key] = Math.min(policy.defaults[key], policy.ceilings[key]);
      continue;
    }
    if (asked > policy.ceilings[key]) {
      throw new AirlockError(
        'invalid_request',
        `limits.${key}: ${asked} is above the server ceiling of ${policy.ceilings[key]}`,
        {
          field: `limits.${key}`,
        },
      );
    }
    resolved[key] = asked;
  }
  return resolved;
}
