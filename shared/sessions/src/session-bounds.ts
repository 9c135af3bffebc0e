// The time bounds of a session request: its idle and lifetime seconds against the server's defaults and
// ceilings (its limits narrow like an execution's: narrowPolicy of @airlock/auth). Must never allow a value
// above a ceiling (it is refused, never clamped).

import { AirlockError } from '@airlock/protocol';

/** The idle or lifetime seconds of a session: as asked (never above the ceiling, which is refused), else the default. */
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
