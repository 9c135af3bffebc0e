// Verifies an intent token (a JWT from the tool broker) and turns it into the Principal the gateway
// authorizes with. Every refusal is AirlockError('unauthorized') whose message starts with its class
// ('missing token:', 'malformed token:', 'alg not allowed:', 'unknown kid:', 'bad signature:', 'wrong issuer:',
// 'wrong audience:', 'expired:', 'not yet valid:', 'lifetime over the maximum:', 'missing claim:',
// 'invalid claim:') and goes on with the detail. Must never echo
// the token, never accept an algorithm outside the configured list (so `none` and HMAC-with-a-public-key are
// refused before any key is looked up), and never report a claim problem for a token whose signature failed.

import { AirlockError, type Caller } from '@airlock/protocol';
import { decodeProtectedHeader, type JWSHeaderParameters, type JWTPayload, jwtVerify } from 'jose';
import { type IntentClaim, TokenClaims } from './claims.ts';
import { firstIssue } from './issues.ts';
import { joseCode, type KeySource } from './key-source.ts';

export const TOKEN_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

export interface IntentTokenVerifierOptions {
  keys: KeySource;
  /** Trusted `iss` values; a token from any other issuer is refused. */
  issuers: readonly string[];
  /** Airlock's own audience; the token's `aud` must name it. */
  audience: string;
  /** Longest lifetime (`exp - iat`) accepted. */
  maxLifetimeSeconds: number;
  /** Allowed clock skew for `exp`, `nbf` and `iat`. @default 30 */
  clockToleranceSeconds?: number;
  /** Signature algorithms accepted; a subset of EdDSA and ES256. */
  algorithms: readonly TokenAlgorithm[];
  /** Longest token accepted, in bytes. @default 8192 */
  maxTokenBytes?: number;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

/** The caller as a verified token names it (subject, issuer and jti always set), within its intent. */
export interface Principal extends Caller {
  subject: string;
  issuer: string;
  jti: string;
  /** The intent claim; null means no narrowing beyond the tenant policy. */
  intent: IntentClaim | null;
  /** The token's `scope` claim split on spaces; empty without one. */
  scopes: readonly string[];
  expiresAt: Date;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const SAFE_VALUE = /^[A-Za-z0-9._:-]{1,32}$/;
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'jti', 'sub', 'tenant'];

const refuse = (reason: string) => new AirlockError('unauthorized', reason);
const iso = (seconds: unknown) =>
  typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString()
    : 'an invalid time';

export class IntentTokenVerifier {
  readonly #options: Required<Omit<IntentTokenVerifierOptions, 'issuers' | 'algorithms'>> & {
    issuers: string[];
    algorithms: TokenAlgorithm[];
  };

  constructor(options: IntentTokenVerifierOptions) {
    const tolerance = options.clockToleranceSeconds ?? 30;
    if (options.issuers.length === 0) throw new TypeError('issuers must name at least one trusted issuer');
    if (options.audience.length === 0) throw new TypeError('audience must not be empty');
    if (!(options.maxLifetimeSeconds > 0)) throw new RangeError('maxLifetimeSeconds must be > 0');
    if (!(tolerance >= 0)) throw new RangeError('clockToleranceSeconds must be >= 0');
    if (options.algorithms.length === 0 || options.algorithms.some((a) => !TOKEN_ALGORITHMS.includes(a))) {
      throw new TypeError(`algorithms must be a non-empty subset of ${TOKEN_ALGORITHMS.join(', ')}`);
    }
    this.#options = Object.freeze({
      ...options,
      issuers: [...options.issuers],
      algorithms: [...options.algorithms],
      clockToleranceSeconds: tolerance,
      maxTokenBytes: options.maxTokenBytes ?? 8192,
      now: options.now ?? Date.now,
    });
  }

  /** The principal of a valid token; throws AirlockError('unauthorized') naming what is wrong. */
  async verify(token: string | undefined): Promise<Principal> {
    const o = this.#options;
    if (typeof token !== 'string' || token.length === 0)
      throw refuse('missing token: no intent token was presented');
    if (token.length > o.maxTokenBytes) throw refuse(`malformed token: longer than ${o.maxTokenBytes} bytes`);
    if (!COMPACT_JWS.test(token))
      throw refuse('malformed token: not a compact JWS (header.payload.signature)');
    this.#checkHeader(token);

    const nowSeconds = Math.floor(o.now() / 1000);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header: JWSHeaderParameters) => o.keys.key(header), {
        issuer: o.issuers,
        audience: o.audience,
        algorithms: o.algorithms,
        clockTolerance: o.clockToleranceSeconds,
        currentDate: new Date(nowSeconds * 1000),
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (error) {
      throw this.#reason(error);
    }

    const lifetime = Number(payload.exp) - Number(payload.iat);
    if (lifetime > o.maxLifetimeSeconds) {
      throw refuse(
        `lifetime over the maximum: token lifetime ${lifetime}s (exp - iat) is over ${o.maxLifetimeSeconds}s`,
      );
    }
    if (Number(payload.iat) > nowSeconds + o.clockToleranceSeconds) {
      throw refuse(`not yet valid: the token iat ${iso(payload.iat)} is in the future`);
    }
    const claims = TokenClaims.safeParse(payload);
    if (!claims.success) {
      const { field, problem } = firstIssue(claims.error);
      throw refuse(`invalid claim: '${field}' ${problem}`);
    }
    const c = claims.data;
    return {
      subject: c.sub,
      tenant: c.tenant,
      issuer: c.iss,
      jti: c.jti,
      act: c.act ?? null,
      intent: c.intent ?? null,
      scopes: Object.freeze((c.scope ?? '').split(' ').filter((s) => s.length > 0)),
      expiresAt: new Date(c.exp * 1000),
    };
  }

  #checkHeader(token: string): void {
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWSHeaderParameters;
    } catch {
      throw refuse('malformed token: the header is not base64url-encoded JSON');
    }
    const alg: unknown = header.alg;
    if (typeof alg !== 'string' || !(this.#options.algorithms as readonly string[]).includes(alg)) {
      const named = typeof alg === 'string' && SAFE_VALUE.test(alg) ? ` '${alg}'` : '';
      throw refuse(`alg not allowed: token alg${named} is not one of ${this.#options.algorithms.join(', ')}`);
    }
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      throw refuse('unknown kid: the token header names no kid');
    }
  }

  #reason(error: unknown): AirlockError {
    if (error instanceof AirlockError) return error;
    const { claim, reason, payload } = error as { claim?: string; reason?: string; payload?: JWTPayload };
    switch (joseCode(error)) {
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return refuse('bad signature: the token signature does not verify with the issuer key');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return refuse(`alg not allowed: token alg is not one of ${this.#options.algorithms.join(', ')}`);
      case 'ERR_JWT_EXPIRED':
        return refuse(`expired: the token expired at ${iso(payload?.exp)}`);
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        if (reason === 'missing') return refuse(`missing claim: the token has no '${claim}' claim`);
        if (claim === 'iss') return refuse('wrong issuer: the token iss is not a trusted issuer');
        if (claim === 'aud')
          return refuse(`wrong audience: the token aud does not name '${this.#options.audience}'`);
        if (claim === 'nbf' && reason === 'check_failed')
          return refuse(`not yet valid: the token nbf is ${iso(payload?.nbf)}`);
        return refuse(`invalid claim: '${claim}' is not a valid value`);
      default:
        return refuse('malformed token: not a well-formed signed JWT');
    }
  }
}
