// The request schemas of one server: the same zod sources as request.ts and session.ts, with each limit's
// maximum lowered to this server's ceiling, so that a value above it is refused naming that ceiling (not the
// absolute bound of the protocol) — on every surface that validates with them, and in the schemas a client
// is shown. Built once at start-up from the configuration; never raises a bound above the protocol's.

import { z } from 'zod';
import type { ResolvedLimits } from './execution.ts';
import { aboveServerCeiling, LIMIT_KEYS } from './limits.ts';
import { ExecutionRequest, LimitsInput } from './request.ts';
import { CellRequest, SessionRequest } from './session.ts';

/** LimitsInput whose maxima are `ceilings` (each no higher than the protocol's own bound). */
export function limitsWithin(ceilings: ResolvedLimits) {
  const shape = Object.fromEntries(
    LIMIT_KEYS.map((key) => {
      const bound = LimitsInput.shape[key].unwrap();
      const ceiling = Math.min(ceilings[key], bound.maxValue ?? ceilings[key]);
      const within = z
        .number()
        .int()
        .min(bound.minValue ?? 0)
        .max(ceiling, { error: (issue) => aboveServerCeiling(issue.input, ceiling) });
      return [key, within.optional()];
    }),
  ) as { [K in keyof typeof LimitsInput.shape]: (typeof LimitsInput.shape)[K] };
  return z.object(shape).strict();
}

/** The execution, session and cell request schemas of a server with these ceilings. */
export function requestSchemasWithin(ceilings: ResolvedLimits) {
  const limits = limitsWithin(ceilings);
  return {
    // The compile step's limit has its own ceiling (AIRLOCK_MAX_COMPILE_WALL_TIME_MS), checked at submission.
    execution: ExecutionRequest.extend({
      limits: limits
        .extend({ compile_wall_time_ms: LimitsInput.shape.compile_wall_time_ms })
        .strict()
        .default({}),
    }),
    session: SessionRequest.extend({ limits: limits.default({}) }),
    cell: CellRequest.extend({ limits: limits.omit({ memory_mb: true }).strict().default({}) }),
  };
}

export type RequestSchemas = ReturnType<typeof requestSchemasWithin>;
