// Takes the intent token out of an HTTP Authorization header. Must never return anything but the token of
// a `Bearer` credential, and never put the header's value into an error.

import { AirlockError } from '@airlock/protocol';

/** The token of `Authorization: Bearer <token>`; undefined when the header is absent or empty. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
  if (!match)
    throw new AirlockError(
      'unauthorized',
      'malformed token: the Authorization header is not "Bearer <token>"',
    );
  return match[1];
}
