import { createTestIssuer, TEST_ISSUER, TEST_SUBJECT, type TestIssuer } from '@airlock/auth/testing';
import { type Caller, ExecutionRequest } from '@airlock/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { bearer, tokenAuthorizer } from '../testing.ts';
import { type Admission, LOCAL_CALLER } from './authorizer.ts';
import type { TokenAuthorizer } from './token-authorizer.ts';

const HELLO = ExecutionRequest.parse({ language: 'javascript', code: 'console.log(1)' });
const NOT_AUTHENTICATED = {
  code: 'unauthorized',
  message: 'missing token: the caller was not authenticated',
};

let issuer: TestIssuer;
let authorizer: TokenAuthorizer;

beforeEach(async () => {
  issuer = await createTestIssuer();
  authorizer = tokenAuthorizer(issuer);
});

/** An authenticated caller of a fresh token with these claims. */
async function caller(claims: Record<string, unknown> = {}) {
  return authorizer.authenticate(bearer(await issuer.mint(claims)));
}

/** `caller`'s execution is refused with `refusal` while `held` is; once `held` is released, it is admitted. */
function refusedUntilReleased(
  held: Admission,
  caller: Caller,
  refusal: { code: string; message: string },
): void {
  expect(() => authorizer.reserve(caller, 'execution')).toThrow(expect.objectContaining(refusal));
  held.release();
  authorizer.reserve(caller, 'execution').commit();
}

describe('TokenAuthorizer.authenticate', () => {
  it('answers the principal of the token: the caller with its intent', async () => {
    const principal = await caller({
      jti: 'j-1',
      act: { sub: 'user-42' },
      intent: { languages: ['javascript'], max_executions: 2 },
    });
    expect(principal).toEqual({
      tenant: 'acme',
      subject: TEST_SUBJECT,
      issuer: TEST_ISSUER,
      jti: 'j-1',
      act: { sub: 'user-42' },
      intent: { languages: ['javascript'], max_executions: 2 },
      scopes: [],
      expiresAt: expect.any(Date),
    });
  });

  it('refuses a missing, malformed or foreign token as unauthorized', async () => {
    await expect(authorizer.authenticate({})).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'missing token: no intent token was presented',
    });
    await expect(authorizer.authenticate({ authorization: ['Bearer a.b.c'] })).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'missing token: no intent token was presented',
    });
    await expect(authorizer.authenticate(bearer('not-a-jwt'))).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'malformed token: not a compact JWS (header.payload.signature)',
    });
    const foreign = await createTestIssuer({ kid: 'foreign' });
    await expect(authorizer.authenticate(bearer(await foreign.mint()))).rejects.toMatchObject({
      code: 'unauthorized',
      message: "unknown kid 'foreign': no key in the issuer key set matches the token",
    });
  });
});

describe('TokenAuthorizer.authorizeSubmission', () => {
  it('grants request ∩ intent ∩ tenant: the backends auto may choose, the ceilings, the capability', async () => {
    authorizer = tokenAuthorizer(issuer, { limits: { memory_mb: 128 } });
    const grant = authorizer.authorizeSubmission(
      await caller({ intent: { limits: { memory_mb: 64, wall_time_ms: 5000 } } }),
      HELLO,
    );
    expect(grant).toEqual({
      backends: ['isolate'],
      ceilings: { memory_mb: 64, wall_time_ms: 5000 },
      capability: {
        language: 'javascript',
        backend: 'auto',
        backends: ['isolate'],
        ceilings: { memory_mb: 64, wall_time_ms: 5000 },
        egress_hosts: [],
        credentials: [],
        session: false,
      },
    });
  });

  it('refuses what is outside the intersection, naming the field and who set the bound', async () => {
    const principal = await caller({ intent: { limits: { memory_mb: 64 } } });
    const python = ExecutionRequest.parse({ language: 'python', code: 'print(1)' });
    expect(() => authorizer.authorizeSubmission(principal, python)).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'language',
        message: "language 'python' is not allowed by the tenant policy",
      }),
    );
    const big = ExecutionRequest.parse({ ...HELLO, limits: { memory_mb: 128 } });
    expect(() => authorizer.authorizeSubmission(principal, big)).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'limits.memory_mb',
        message: 'limits.memory_mb: 128 is above the intent token ceiling of 64',
      }),
    );
    expect(() => authorizer.authorizeSubmission(principal, HELLO, 'open')).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'session',
        message: 'sessions are not allowed by the tenant policy',
      }),
    );
  });

  it("narrows a run's egress hosts and credentials like everything else", async () => {
    authorizer = tokenAuthorizer(issuer, { egress_hosts: ['*.example.test'], credentials: ['gh'] });
    const principal = await caller();
    const egress = (allow: string[], credentials: string[] = []) =>
      ExecutionRequest.parse({
        ...HELLO,
        network: { egress: 'proxy', allow: allow.map((host) => ({ host })), credentials },
      });
    const grant = authorizer.authorizeSubmission(principal, egress(['API.Example.test'], ['gh']));
    expect(grant.capability).toMatchObject({ egress_hosts: ['api.example.test'], credentials: ['gh'] });
    expect(() => authorizer.authorizeSubmission(principal, egress(['other.test']))).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'egress_hosts[0]',
        message: "egress host 'other.test' is not allowed by the tenant policy",
      }),
    );
    expect(() => authorizer.authorizeSubmission(principal, egress(['a.example.test'], ['aws']))).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'credentials[0]',
        message: 'credential "aws" is not allowed by the tenant policy',
      }),
    );
  });

  it('refuses a tenant without a policy', async () => {
    const stranger = await caller({ tenant: 'stranger' });
    expect(() => authorizer.authorizeSubmission(stranger, HELLO)).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        message: "tenant 'stranger' has no policy on this server",
      }),
    );
  });

  it('authorizes only callers it verified itself: a copy or the local caller is unauthorized', async () => {
    const principal = await caller();
    for (const impostor of [LOCAL_CALLER, { ...principal }]) {
      expect(() => authorizer.authorizeSubmission(impostor, HELLO)).toThrow(
        expect.objectContaining(NOT_AUTHENTICATED),
      );
      expect(() => authorizer.reserve(impostor, 'execution')).toThrow(
        expect.objectContaining(NOT_AUTHENTICATED),
      );
    }
    expect(authorizer.authorizeSubmission(principal, HELLO).backends).toEqual(['isolate']);
  });
});

describe('TokenAuthorizer.authorizeOperator', () => {
  it('lets through a token with the operator scope of a tenant whose policy allows operators', async () => {
    authorizer = tokenAuthorizer(issuer, { operator: true });
    const operator = await caller({ scope: 'runs:read airlock:operator' });
    expect(operator).toMatchObject({ scopes: ['runs:read', 'airlock:operator'] });
    expect(() => authorizer.authorizeOperator(operator)).not.toThrow();
  });

  it('refuses an ordinary tenant token, and the scope where the policy does not allow operators', async () => {
    authorizer = tokenAuthorizer(issuer, { operator: true });
    expect(() => authorizer.authorizeOperator(LOCAL_CALLER)).toThrow(
      expect.objectContaining(NOT_AUTHENTICATED),
    );
    const ordinary = await caller();
    expect(() => authorizer.authorizeOperator(ordinary)).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        message: expect.stringContaining("no 'airlock:operator' scope"),
      }),
    );
    authorizer = tokenAuthorizer(issuer);
    const scoped = await caller({ scope: 'airlock:operator' });
    expect(() => authorizer.authorizeOperator(scoped)).toThrow(
      expect.objectContaining({ code: 'forbidden', message: expect.stringContaining('"operator": true') }),
    );
  });
});

describe('TokenAuthorizer.authorizeSnapshots', () => {
  it("answers the tenant's snapshot quotas narrowed by the token's; a bare tenant gets the policy's", async () => {
    authorizer = tokenAuthorizer(issuer, { snapshots: { max_count: 5, max_bytes: 1000 } });
    const narrowed = await caller({ intent: { snapshots: { max_count: 1 } } });
    expect(authorizer.authorizeSnapshots(narrowed)).toEqual({ max_count: 1, max_bytes: 1000 });
    expect(authorizer.authorizeSnapshots(await caller())).toEqual({ max_count: 5, max_bytes: 1000 });
    expect(authorizer.authorizeSnapshots({ tenant: 'acme' })).toEqual({ max_count: 5, max_bytes: 1000 });
    expect(() => authorizer.authorizeSnapshots(LOCAL_CALLER)).toThrow(
      expect.objectContaining(NOT_AUTHENTICATED),
    );
  });

  it('refuses snapshots that the token or the tenant policy forbids, and a tenant without a policy', async () => {
    const forbidding = await caller({ intent: { snapshots: false } });
    expect(() => authorizer.authorizeSnapshots(forbidding)).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        field: 'snapshots',
        message: 'snapshots are not allowed by the intent token',
      }),
    );
    authorizer = tokenAuthorizer(issuer, { snapshots: false });
    expect(() => authorizer.authorizeSnapshots({ tenant: 'acme' })).toThrow(
      expect.objectContaining({ message: 'snapshots are not allowed by the tenant policy' }),
    );
    expect(() => authorizer.authorizeSnapshots({ tenant: 'globex' })).toThrow(
      expect.objectContaining({ code: 'forbidden', message: "tenant 'globex' has no policy on this server" }),
    );
  });
});

describe('TokenAuthorizer.reserve', () => {
  it('gives back the rate allowance and the token use when released before commit', async () => {
    authorizer = tokenAuthorizer(issuer, { submissions_per_minute: 1 });
    const first = await caller({ jti: 'r' });
    authorizer.reserve(first, 'execution').release();
    const again = authorizer.reserve(first, 'execution');
    again.commit();
    const other = await caller();
    expect(() => authorizer.reserve(other, 'execution')).toThrow(
      expect.objectContaining({ code: 'rate_limited' }),
    );
    // After commit, release frees the in-flight slot only: the token stays spent.
    again.release();
    expect(() => authorizer.reserve(first, 'execution')).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        message: "token replayed: jti 'r' has no executions left",
      }),
    );
  });

  it('a use being taken by a submission in progress is not given to a second one', async () => {
    const principal = await caller({ jti: 'once' });
    const pending = authorizer.reserve(principal, 'execution');
    refusedUntilReleased(pending, principal, {
      code: 'forbidden',
      message: "token replayed: jti 'once' its last executions are being taken by submissions in progress",
    });
  });

  it('refuses quota with nothing kept: the refused token and rate are untouched', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 0, submissions_per_minute: 2 });
    const held = authorizer.reserve(await caller(), 'execution');
    held.commit();
    const second = await caller({ jti: 'waiting' });
    // Once released, its token use and the rate allowance were given back: it is admitted (rate 2 per minute).
    refusedUntilReleased(held, second, {
      code: 'quota_exceeded',
      message: 'tenant quota reached: 1 executions queued or running (max_concurrent 1 + max_queued 0)',
    });
  });

  it('a cell takes no in-flight slot', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 0, sessions: true });
    const opener = await caller({ intent: { max_executions: 3 } });
    authorizer.reserve(opener, 'open').commit();
    authorizer.reserve(opener, 'cell').commit();
    authorizer.reserve(opener, 'cell').commit();
    expect(() => authorizer.reserve(opener, 'cell')).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });
});

describe('Admission.start (max_concurrent)', () => {
  it('starts at most max_concurrent of a tenant; the others stay queued until a running one ends', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 2 });
    const admissions = [];
    for (let i = 0; i < 3; i++) {
      const admission = authorizer.reserve(await caller(), 'execution');
      admission.commit();
      admissions.push(admission);
    }
    const [first, second, third] = admissions;
    expect(first!.start()).toBe(true);
    expect(first!.start()).toBe(true); // asking again changes nothing
    expect(second!.start()).toBe(false);
    expect(third!.start()).toBe(false);
    first!.release();
    expect(second!.start()).toBe(true);
    expect(third!.start()).toBe(false);
    second!.release();
    third!.release();
    expect(third!.start()).toBe(false); // released: it never starts
  });

  it('a cell holds no slot, so it always starts', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 0, sessions: true });
    const opener = await caller({ intent: { max_executions: 2 } });
    const open = authorizer.reserve(opener, 'open');
    open.commit();
    const cell = authorizer.reserve(opener, 'cell');
    cell.commit();
    expect(cell.start()).toBe(true);
  });
});
