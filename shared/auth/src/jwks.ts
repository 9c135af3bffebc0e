// Checks a JSON Web Key Set before it is trusted: every key has a unique kid, carries no private material,
// and (for the key types Airlock verifies with: Ed25519 and P-256) imports as a public key. Must never accept a
// set that holds a private key: that file would be a leak waiting to happen.

import { importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';
import { AuthConfigError } from './config-error.ts';
import { firstIssue } from './issues.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv'] as const;

const PublicJwk = z
  .looseObject({ kty: z.string().min(1), kid: z.string().min(1).max(128) })
  .superRefine((jwk, ctx) => {
    for (const member of PRIVATE_MEMBERS) {
      if (member in jwk) ctx.addIssue({ code: 'custom', path: [member], message: 'is private key material' });
    }
  });

const PublicJwks = z.looseObject({ keys: z.array(PublicJwk).min(1).max(100) }).superRefine((set, ctx) => {
  const seen = new Set<string>();
  set.keys.forEach((key, i) => {
    if (seen.has(key.kid))
      ctx.addIssue({ code: 'custom', path: ['keys', i, 'kid'], message: 'is a duplicate' });
    seen.add(key.kid);
  });
});

/** The algorithm Airlock verifies a key with, if it is one of its key types. */
export function verificationAlg(jwk: { kty?: unknown; crv?: unknown }): 'EdDSA' | 'ES256' | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return undefined;
}

/** Validates `value` as a public JWKS; throws AuthConfigError naming `source` and the field. */
export async function checkPublicJwks(value: unknown, source: string): Promise<JSONWebKeySet> {
  const parsed = PublicJwks.safeParse(value);
  if (!parsed.success) {
    const { field, problem } = firstIssue(parsed.error);
    throw new AuthConfigError(source, field, problem);
  }
  const jwks = parsed.data as unknown as JSONWebKeySet;
  for (const [i, jwk] of jwks.keys.entries()) {
    const alg = verificationAlg(jwk);
    if (alg === undefined) continue;
    try {
      await importJWK(jwk as JWK, alg);
    } catch (cause) {
      throw new AuthConfigError(source, `keys[${i}]`, `is not a usable ${alg} public key`, { cause });
    }
  }
  return jwks;
}
