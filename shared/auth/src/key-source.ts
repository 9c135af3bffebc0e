// Where the verifier gets issuer public keys: an interface with a file-backed and a URL-backed implementation
// (jwks-file.ts, jwks-url.ts) and an in-memory one here. A key source answers one header at a time and
// refreshes on an unknown kid as its own options allow. Must never hand out a private or symmetric key.

import { AirlockError } from '@airlock/protocol';
import { type CryptoKey, createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';

export interface KeySource {
  /**
   * The public key for a token's protected header (matched on `kid` and `alg`). Throws
   * AirlockError('unauthorized') when no key matches after the refresh the source allows.
   */
  key(header: JWSHeaderParameters): Promise<CryptoKey>;
}

const SAFE_KID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The refusal for a kid no key matches; the kid is quoted only when it is short and plain. */
export function unknownKid(header: JWSHeaderParameters): AirlockError {
  const kid = header.kid;
  const named = typeof kid === 'string' && SAFE_KID.test(kid) ? ` '${kid}'` : '';
  return new AirlockError(
    'unauthorized',
    `unknown kid${named}: no key in the issuer key set matches the token`,
  );
}

export function joseCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const NO_MATCHING_KEY = 'ERR_JWKS_NO_MATCHING_KEY';

/**
 * Looks a header up in a local key set: the key, or undefined when no key matches. Other failures (two keys
 * with the kid, a key that does not import) become AirlockError('unauthorized').
 */
export async function lookUp(
  set: ReturnType<typeof createLocalJWKSet>,
  header: JWSHeaderParameters,
): Promise<CryptoKey | undefined> {
  try {
    return await set(header);
  } catch (error) {
    if (joseCode(error) === NO_MATCHING_KEY) return undefined;
    throw new AirlockError('unauthorized', 'the issuer key for this kid is ambiguous or unusable');
  }
}

/** A fixed, in-memory key set (for tests and embedded set-ups); the caller checked it is public. */
export function jwksKeySource(jwks: JSONWebKeySet): KeySource {
  const set = createLocalJWKSet(jwks);
  return {
    async key(header) {
      const found = await lookUp(set, header);
      if (found === undefined) throw unknownKid(header);
      return found;
    },
  };
}
