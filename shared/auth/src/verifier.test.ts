import { AirlockError } from '@airlock/protocol';
import { base64url, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken } from './bearer.ts';
import { jwksKeySource } from './key-source.ts';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER, testVerifier } from './testing.ts';
import { IntentTokenVerifier, type IntentTokenVerifierOptions } from './verifier.ts';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const clock = () => NOW;

async function setUp(
  overrides: Partial<IntentTokenVerifierOptions> = {},
  key: { kid: string; alg?: 'EdDSA' | 'ES256' } = { kid: 'k1' },
) {
  const issuer = await createTestIssuer({ ...key, now: clock });
  const verifier = testVerifier(jwksKeySource(issuer.jwks), { now: clock, ...overrides });
  return { issuer, verifier };
}

/** The refusal for `token`, checked to be a 401 that does not echo the token. */
async function refusal(verifier: IntentTokenVerifier, token: string | undefined): Promise<string> {
  try {
    await verifier.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(AirlockError);
    const airlock = error as AirlockError;
    expect(airlock.code).toBe('unauthorized');
    expect(airlock.status).toBe(401);
    if (token) {
      expect(airlock.message).not.toContain(token);
      for (const part of token.split('.')) if (part.length > 8) expect(airlock.message).not.toContain(part);
    }
    return airlock.message;
  }
  throw new Error('the token was accepted');
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

describe('IntentTokenVerifier accepts', () => {
  it('a valid EdDSA token and returns its principal with act and intent as sent', async () => {
    const { issuer, verifier } = await setUp();
    const act = { sub: 'broker', act: { sub: 'user-7', org: 'x' } };
    const intent = { languages: ['javascript'], egress_hosts: ['API.Example.com'], max_executions: 2 };
    const token = await issuer.mint({ jti: 'j-1', act, intent });
    const principal = await verifier.verify(token);
    expect(principal).toEqual({
      subject: 'agent-1',
      tenant: 'acme',
      issuer: TEST_ISSUER,
      jti: 'j-1',
      act,
      intent: { languages: ['javascript'], egress_hosts: ['api.example.com'], max_executions: 2 },
      scopes: [],
      expiresAt: new Date((NOW_S + 300) * 1000),
    });
  });

  it('a token without act or intent as null ones, and an aud list that names Airlock', async () => {
    const { issuer, verifier } = await setUp();
    const principal = await verifier.verify(await issuer.mint({ aud: ['other', TEST_AUDIENCE] }));
    expect(principal.act).toBeNull();
    expect(principal.intent).toBeNull();
  });

  it('an ES256 token', async () => {
    const { issuer, verifier } = await setUp({ algorithms: ['ES256'] }, { kid: 'ec', alg: 'ES256' });
    expect((await verifier.verify(await issuer.mint())).tenant).toBe('acme');
  });

  it('exp and nbf within the clock tolerance', async () => {
    const { issuer, verifier } = await setUp({ clockToleranceSeconds: 30 });
    const token = await issuer.mint({ iat: NOW_S - 100, exp: NOW_S - 20, nbf: NOW_S + 20 });
    expect((await verifier.verify(token)).jti).toBeTypeOf('string');
  });
});

describe('IntentTokenVerifier refuses', () => {
  it('a missing token', async () => {
    const { verifier } = await setUp();
    expect(await refusal(verifier, undefined)).toBe('missing token: no intent token was presented');
    expect(await refusal(verifier, '')).toBe('missing token: no intent token was presented');
  });

  it('malformed tokens', async () => {
    const { issuer, verifier } = await setUp();
    expect(await refusal(verifier, 'not-a-jwt')).toBe(
      'malformed token: not a compact JWS (header.payload.signature)',
    );
    expect(await refusal(verifier, `${encode({ alg: 'EdDSA' })}.e30`)).toMatch(
      /^malformed token: not a compact/,
    );
    expect(await refusal(verifier, `bm90IGpzb24.${encode({})}.c2ln`)).toBe(
      'malformed token: the header is not base64url-encoded JSON',
    );
    const long = await issuer.mint({ padding: 'x'.repeat(9000) });
    expect(await refusal(verifier, long)).toBe('malformed token: longer than 8192 bytes');
  });

  it('a token whose payload is not a JSON object, after its signature verified', async () => {
    const { issuer, verifier } = await setUp();
    const { CompactSign } = await import('jose');
    const token = await new CompactSign(new TextEncoder().encode('[1,2]'))
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .sign(issuer.privateKey);
    expect(await refusal(verifier, token)).toBe('malformed token: not a well-formed signed JWT');
  });

  it("alg 'none'", async () => {
    const { verifier } = await setUp();
    const payload = {
      iss: TEST_ISSUER,
      aud: TEST_AUDIENCE,
      sub: 'a',
      tenant: 'acme',
      jti: 'j',
      iat: NOW_S,
      exp: NOW_S + 60,
    };
    const token = `${encode({ alg: 'none', kid: 'k1' })}.${encode(payload)}.`;
    expect(await refusal(verifier, token)).toBe(
      "alg not allowed: token alg 'none' is not one of EdDSA, ES256",
    );
  });

  it('HS256 signed with the public key as the HMAC secret', async () => {
    const { issuer, verifier } = await setUp();
    const publicJwk = issuer.jwks.keys[0]!;
    for (const secret of [
      base64url.decode(String(publicJwk.x)),
      new TextEncoder().encode(JSON.stringify(publicJwk)),
    ]) {
      const token = await new SignJWT({ tenant: 'acme', jti: 'j', sub: 'a' })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setIssuedAt(NOW_S)
        .setExpirationTime(NOW_S + 60)
        .sign(secret);
      expect(await refusal(verifier, token)).toBe(
        "alg not allowed: token alg 'HS256' is not one of EdDSA, ES256",
      );
    }
  });

  it('an allowed alg the verifier was not configured with', async () => {
    const { issuer, verifier } = await setUp({ algorithms: ['EdDSA'] }, { kid: 'ec', alg: 'ES256' });
    expect(await refusal(verifier, await issuer.mint())).toBe(
      "alg not allowed: token alg 'ES256' is not one of EdDSA",
    );
  });

  it('construction with an algorithm outside EdDSA and ES256', () => {
    const options = {
      keys: jwksKeySource({ keys: [] }),
      issuers: ['i'],
      audience: 'a',
      maxLifetimeSeconds: 60,
    };
    expect(() => new IntentTokenVerifier({ ...options, algorithms: ['HS256' as 'EdDSA'] })).toThrow(
      'algorithms must be a non-empty subset of EdDSA, ES256',
    );
    expect(() => new IntentTokenVerifier({ ...options, algorithms: [] })).toThrow(/non-empty subset/);
    expect(() => new IntentTokenVerifier({ ...options, issuers: [], algorithms: ['EdDSA'] })).toThrow(
      /issuers/,
    );
  });

  it('a bad signature: signed by another key under the trusted kid, or with a tampered payload', async () => {
    const { issuer, verifier } = await setUp();
    const impostor = await createTestIssuer({ kid: 'k1', now: clock });
    expect(await refusal(verifier, await impostor.mint())).toBe(
      'bad signature: the token signature does not verify with the issuer key',
    );
    const [header, , signature] = (await issuer.mint()).split('.');
    const widened = encode({
      iss: TEST_ISSUER,
      aud: TEST_AUDIENCE,
      sub: 'agent-1',
      tenant: 'other',
      jti: 'j',
      iat: NOW_S,
      exp: NOW_S + 60,
    });
    expect(await refusal(verifier, `${header}.${widened}.${signature}`)).toMatch(/^bad signature: /);
  });

  it('an unknown kid, and a token with no kid', async () => {
    const { verifier } = await setUp();
    const stranger = await createTestIssuer({ kid: 'k-unknown', now: clock });
    expect(await refusal(verifier, await stranger.mint())).toBe(
      "unknown kid 'k-unknown': no key in the issuer key set matches the token",
    );
    const { issuer } = await setUp();
    expect(await refusal(verifier, await issuer.mint({}, { header: { kid: undefined } }))).toBe(
      'unknown kid: the token header names no kid',
    );
  });

  it('a wrong audience and a wrong issuer', async () => {
    const { issuer, verifier } = await setUp();
    expect(await refusal(verifier, await issuer.mint({ aud: 'someone-else' }))).toBe(
      "wrong audience: the token aud does not name 'airlock'",
    );
    expect(await refusal(verifier, await issuer.mint({ iss: 'https://evil.test' }))).toBe(
      'wrong issuer: the token iss is not a trusted issuer',
    );
  });

  it('an expired token and one not yet valid', async () => {
    const { issuer, verifier } = await setUp();
    expect(await refusal(verifier, await issuer.mint({ iat: NOW_S - 400, exp: NOW_S - 60 }))).toBe(
      'expired: the token expired at 2030-01-01T11:59:00.000Z',
    );
    expect(await refusal(verifier, await issuer.mint({ nbf: NOW_S + 120 }))).toBe(
      'not yet valid: the token nbf is 2030-01-01T12:02:00.000Z',
    );
    expect(await refusal(verifier, await issuer.mint({ iat: NOW_S + 120, exp: NOW_S + 300 }))).toBe(
      'not yet valid: the token iat 2030-01-01T12:02:00.000Z is in the future',
    );
  });

  it('a lifetime (exp - iat) over the maximum', async () => {
    const { issuer, verifier } = await setUp({ maxLifetimeSeconds: 300 });
    expect(await refusal(verifier, await issuer.mint({ exp: NOW_S + 3600 }))).toBe(
      'lifetime over the maximum: token lifetime 3600s (exp - iat) is over 300s',
    );
  });

  it('each missing required claim', async () => {
    const { issuer, verifier } = await setUp();
    for (const claim of ['iss', 'aud', 'exp', 'iat', 'jti', 'sub', 'tenant']) {
      expect(await refusal(verifier, await issuer.mint({ [claim]: undefined }))).toBe(
        `missing claim: the token has no '${claim}' claim`,
      );
    }
  });

  it('invalid claims: tenant, intent with an unknown constraint, an over-deep act chain', async () => {
    const { issuer, verifier } = await setUp();
    expect(await refusal(verifier, await issuer.mint({ tenant: 'a.b' }))).toBe(
      "invalid claim: 'tenant' must be a tenant id of [A-Za-z0-9_-]",
    );
    expect(
      await refusal(verifier, await issuer.mint({ intent: { languages: ['javascript'], gpu: true } })),
    ).toBe("invalid claim: 'intent.gpu' is not a known field");
    expect(await refusal(verifier, await issuer.mint({ intent: { egress_hosts: ['http://x.test/'] } }))).toBe(
      "invalid claim: 'intent.egress_hosts[0]' must be a host name or *.domain pattern",
    );
    let act: { sub: string; act?: unknown } = { sub: 'root' };
    for (let i = 0; i < 9; i++) act = { sub: `a${i}`, act };
    expect(await refusal(verifier, await issuer.mint({ act }))).toBe(
      "invalid claim: 'act' nests deeper than 8 actors",
    );
    expect(await refusal(verifier, await issuer.mint({ exp: 'tomorrow' }))).toBe(
      "invalid claim: 'exp' is not a valid value",
    );
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header and refuses other schemes without echoing them', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerToken('Basic c2VjcmV0')).toThrow(
      'malformed token: the Authorization header is not "Bearer <token>"',
    );
    try {
      bearerToken('Basic c2VjcmV0');
    } catch (error) {
      expect((error as AirlockError).message).not.toContain('c2VjcmV0');
    }
  });
});
