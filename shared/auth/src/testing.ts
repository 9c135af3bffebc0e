// `@airlock/auth/testing`, test helpers for any package that needs real signed intent tokens: a throwaway
// issuer with its own key pair, whose mint() signs a token with sensible default claims that a test can
// override or remove, and a verifier that trusts the test issuer and audience. Not part of the package's main entry. Must never be used to issue tokens outside
// tests: its defaults are fixed and its keys live in memory only.

import { randomUUID } from 'node:crypto';
import { type CryptoKey, importJWK, type JSONWebKeySet, type JWK, type JWTPayload, SignJWT } from 'jose';
import type { KeySource } from './key-source.ts';
import { generateSigningKeys } from './signing.ts';
import { IntentTokenVerifier, type IntentTokenVerifierOptions, type TokenAlgorithm } from './verifier.ts';

export const TEST_ISSUER = 'https://broker.test';
export const TEST_AUDIENCE = 'airlock';
export const TEST_TENANT = 'acme';
export const TEST_SUBJECT = 'agent-1';

export interface TestIssuer {
  kid: string;
  alg: TokenAlgorithm;
  /** The public key set to give the verifier (write it to a file, serve it, or use jwksKeySource). */
  jwks: JSONWebKeySet;
  privateKey: CryptoKey;
  privateJwk: JWK;
  /**
   * Signs a token: iss, aud, sub, tenant, jti, iat and exp (iat + 300) by default; a claim set to undefined is
   * left out. `header` entries are merged into the protected header (undefined removes one, e.g. kid).
   */
  mint(claims?: Record<string, unknown>, options?: { header?: Record<string, unknown> }): Promise<string>;
}

export async function createTestIssuer(
  options: { kid?: string; alg?: TokenAlgorithm; now?: () => number } = {},
): Promise<TestIssuer> {
  const keys = await generateSigningKeys(options);
  const privateKey = (await importJWK(keys.privateJwk, keys.alg)) as CryptoKey;
  const now = options.now ?? Date.now;
  return {
    kid: keys.kid,
    alg: keys.alg,
    jwks: keys.jwks,
    privateKey,
    privateJwk: keys.privateJwk,
    async mint(claims = {}, mintOptions = {}) {
      const iat = Math.floor(now() / 1000);
      const payload: JWTPayload = {
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        sub: TEST_SUBJECT,
        tenant: TEST_TENANT,
        jti: randomUUID(),
        iat,
        exp: iat + 300,
      };
      for (const [name, value] of Object.entries(claims)) {
        if (value === undefined) delete payload[name];
        else payload[name] = value;
      }
      const header: Record<string, unknown> = { alg: keys.alg, kid: keys.kid, typ: 'JWT' };
      for (const [name, value] of Object.entries(mintOptions.header ?? {})) {
        if (value === undefined) delete header[name];
        else header[name] = value;
      }
      return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(privateKey);
    },
  };
}

/** A verifier of `keys` for TEST_ISSUER and TEST_AUDIENCE: tokens up to 600 s, EdDSA or ES256; `overrides` on top. */
export function testVerifier(
  keys: KeySource,
  overrides: Partial<IntentTokenVerifierOptions> = {},
): IntentTokenVerifier {
  return new IntentTokenVerifier({
    keys,
    issuers: [TEST_ISSUER],
    audience: TEST_AUDIENCE,
    maxLifetimeSeconds: 600,
    algorithms: ['EdDSA', 'ES256'],
    ...overrides,
  });
}
