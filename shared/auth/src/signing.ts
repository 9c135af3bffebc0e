// Issuer-side helpers for development and tests: generate a signing key pair as JWKs, and mint an intent
// token. Airlock itself only verifies; the tool broker is the real issuer. Must never write the private key
// into the public set, and never mint a token whose intent claim Airlock would refuse.

import { randomUUID } from 'node:crypto';
import { Actor } from '@airlock/protocol';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import type { z } from 'zod';
import { IntentClaim } from './claims.ts';
import { TenantName } from './constraints.ts';
import { firstIssue } from './issues.ts';
import { verificationAlg } from './jwks.ts';
import type { TokenAlgorithm } from './verifier.ts';

export interface SigningKeys {
  kid: string;
  alg: TokenAlgorithm;
  /** The private JWK (with kid, alg and use); keep it secret. */
  privateJwk: JWK;
  /** The public key set verifiers are given. */
  jwks: JSONWebKeySet;
}

/** A fresh Ed25519 (EdDSA, the default) or P-256 (ES256) key pair. */
export async function generateSigningKeys(
  options: { kid?: string; alg?: TokenAlgorithm } = {},
): Promise<SigningKeys> {
  const alg = options.alg ?? 'EdDSA';
  const kid = options.kid ?? randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : 'ES256', {
    extractable: true,
  });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateJwk, jwks: { keys: [publicJwk] } };
}

/** `value` as given when `schema` accepts it; else a TypeError naming the claim and field. */
function checked(claim: string, schema: z.ZodType, value: unknown): unknown {
  const parsed = schema.safeParse(value);
  if (parsed.success) return value;
  const { field, problem } = firstIssue(parsed.error);
  throw new TypeError(`${claim}${field ? ` ${field}` : ''}: ${problem}`);
}

export interface MintOptions {
  /** The private JWK; its kid and alg go into the token header. */
  privateJwk: JWK;
  issuer: string;
  audience: string;
  subject: string;
  tenant: string;
  /** Lifetime from now. @default 300 */
  ttlSeconds?: number;
  /** @default a random UUID */
  jti?: string;
  intent?: unknown;
  act?: unknown;
  /** Space-separated scopes (the `scope` claim), e.g. `airlock:operator`. */
  scope?: string;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

/** Signs an intent token; throws TypeError when the key, intent or act is not what Airlock accepts. */
export async function mintIntentToken(options: MintOptions): Promise<string> {
  const { privateJwk } = options;
  const alg = verificationAlg(privateJwk);
  if (alg === undefined || typeof privateJwk.d !== 'string') {
    throw new TypeError('the signing key must be a private Ed25519 or P-256 JWK');
  }
  if (typeof privateJwk.kid !== 'string' || privateJwk.kid === '') {
    throw new TypeError('the signing key has no kid');
  }
  const claims: JWTPayload = { tenant: checked('tenant', TenantName, options.tenant) };
  if (options.intent !== undefined) claims.intent = checked('intent', IntentClaim, options.intent);
  if (options.act !== undefined) claims.act = checked('act', Actor, options.act);
  if (options.scope !== undefined) claims.scope = options.scope;
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject)
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.ttlSeconds ?? 300))
    .sign(await importJWK(privateJwk, alg));
}
