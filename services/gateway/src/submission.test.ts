import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog } from '@airlock/audit';
import { IntentTokenVerifier, jwksKeySource, parseTenantPolicies, TOKEN_ALGORITHMS } from '@airlock/auth';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER, type TestIssuer } from '@airlock/auth/testing';
import { AirlockError, ExecutionRequest } from '@airlock/protocol';
import { type JobQueue, MemoryJobQueue } from '@airlock/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetRegistry } from './nats/fleet-registry.ts';
import { ExecutionSubmitter } from './submission.ts';
import { TokenAuthorizer } from './token-authorizer.ts';

const LIMITS = {
  defaults: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 },
  ceilings: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 256, output_bytes: 1_000_000 },
};
const HELLO = ExecutionRequest.parse({ language: 'javascript', code: 'console.log(1)' });

let dir: string;
let audit: FileAuditLog;
let queue: MemoryJobQueue;
let issuer: TestIssuer;
let authorizer: TokenAuthorizer;

function tenants(overrides: Record<string, unknown> = {}) {
  const acme = {
    languages: ['javascript'],
    backends: ['isolate'],
    max_concurrent: 4,
    max_queued: 4,
    submissions_per_minute: 100,
    ...overrides,
  };
  return parseTenantPolicies({ tenants: { acme } }, 'test');
}

async function tokenAuthorizer(overrides: Record<string, unknown> = {}): Promise<TokenAuthorizer> {
  const verifier = new IntentTokenVerifier({
    keys: jwksKeySource(issuer.jwks),
    issuers: [TEST_ISSUER],
    audience: TEST_AUDIENCE,
    maxLifetimeSeconds: 600,
    algorithms: TOKEN_ALGORITHMS,
  });
  return new TokenAuthorizer({ verifier, policies: tenants(overrides), defaultMaxExecutions: 1 });
}

function submitter(jobs: JobQueue = queue): ExecutionSubmitter {
  return new ExecutionSubmitter({
    queue: jobs,
    registry: fleetRegistry(['isolate']),
    audit,
    authorizer,
    limits: LIMITS,
  });
}

async function records(): Promise<Array<Record<string, any>>> {
  const text = await readFile(audit.path, 'utf8');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The queue with another submit() in front of it. */
function withSubmit(submit: JobQueue['submit']): JobQueue {
  return {
    submit,
    get: (tenant, id) => queue.get(tenant, id),
    cancel: (tenant, id) => queue.cancel(tenant, id),
    wait: (tenant, id, timeoutMs) => queue.wait(tenant, id, timeoutMs),
    watch: (tenant, id, signal) => queue.watch(tenant, id, signal),
    consume: (worker) => queue.consume(worker),
    stats: () => queue.stats(),
    close: () => queue.close(),
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-submission-'));
  audit = await FileAuditLog.open(join(dir, 'audit.jsonl'));
  queue = new MemoryJobQueue({ concurrency: 1, maxQueued: 10, retentionMs: 60_000, maxRetained: 100 });
  issuer = await createTestIssuer();
  authorizer = await tokenAuthorizer();
});

afterEach(async () => {
  await queue.close();
  await audit.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ExecutionSubmitter', () => {
  it('writes the accepted record before the execution is queued, and spends the token use', async () => {
    const token = await issuer.mint({ jti: 'one' });
    const seenAtAdmit: string[] = [];
    const watching = withSubmit((input) =>
      queue.submit({
        ...input,
        admit: async (execution) => {
          await input.admit?.(execution);
          seenAtAdmit.push(...(await records()).map((r) => `${r.type} ${r.execution_id}`));
          expect(await queue.get('acme', execution.id)).toBeUndefined();
        },
      }),
    );
    const { execution, created } = await submitter(watching).submit(bearer(token), HELLO);
    expect(created).toBe(true);
    expect(seenAtAdmit).toEqual([`accepted ${execution.id}`]);
    await expect(submitter().submit(bearer(token), HELLO)).rejects.toMatchObject({
      code: 'forbidden',
      message: "token replayed: jti 'one' has no executions left",
    });
  });

  it('a queue that refuses the job after admit: rejected with the execution id, the token use given back', async () => {
    const token = await issuer.mint({ jti: 'given-back' });
    const refusing = withSubmit(async (input) => {
      await input.admit?.(input.execution);
      throw new AirlockError('queue_full', 'The queue holds as many executions as it may.', {
        retryAfter: 1,
      });
    });
    const refused = await submitter(refusing)
      .submit(bearer(token), HELLO)
      .catch((e: unknown) => e as AirlockError);
    expect(refused).toMatchObject({ code: 'queue_full', retryAfter: 1 });
    const log = await records();
    expect(log.map((r) => r.type)).toEqual(['accepted', 'rejected']);
    expect(log[1]).toMatchObject({
      execution_id: log[0]!.execution_id,
      reason: 'The queue holds as many executions as it may.',
      detail: { code: 'queue_full', jti: 'given-back' },
    });
    const accepted = await submitter().submit(bearer(token), HELLO);
    expect(accepted.created).toBe(true);
  });

  it('an Idempotency-Key replay answers the same execution and spends nothing', async () => {
    const token = await issuer.mint({ jti: 'keyed', intent: { max_executions: 2 } });
    const first = await submitter().submit(bearer(token), HELLO, 'k-1');
    for (let i = 0; i < 3; i++) {
      const replay = await submitter().submit(bearer(token), HELLO, 'k-1');
      expect(replay).toEqual({
        execution: expect.objectContaining({ id: first.execution.id }),
        created: false,
      });
    }
    // The second use is still there.
    expect((await submitter().submit(bearer(token), HELLO)).created).toBe(true);
    expect((await records()).filter((r) => r.type === 'accepted')).toHaveLength(2);
  });
});

describe('TokenAuthorizer.reserve', () => {
  it('gives back the rate allowance and the token use when released before commit', async () => {
    authorizer = await tokenAuthorizer({ submissions_per_minute: 1 });
    const caller = await authorizer.authenticate(bearer(await issuer.mint({ jti: 'r' })));
    authorizer.reserve(caller, 'execution').release();
    const again = authorizer.reserve(caller, 'execution');
    again.commit();
    const other = await authorizer.authenticate(bearer(await issuer.mint()));
    expect(() => authorizer.reserve(other, 'execution')).toThrow(
      expect.objectContaining({ code: 'rate_limited' }),
    );
    // After commit, release frees the in-flight slot only: the token stays spent.
    again.release();
    expect(() => authorizer.reserve(caller, 'execution')).toThrow(
      expect.objectContaining({
        code: 'forbidden',
        message: "token replayed: jti 'r' has no executions left",
      }),
    );
  });

  it('refuses quota with nothing kept: the refused token and rate are untouched', async () => {
    authorizer = await tokenAuthorizer({ max_concurrent: 1, max_queued: 0, submissions_per_minute: 2 });
    const first = await authorizer.authenticate(bearer(await issuer.mint()));
    const held = authorizer.reserve(first, 'execution');
    held.commit();
    const second = await authorizer.authenticate(bearer(await issuer.mint({ jti: 'waiting' })));
    expect(() => authorizer.reserve(second, 'execution')).toThrow(
      expect.objectContaining({ code: 'quota_exceeded' }),
    );
    held.release();
    // Its token use and the rate allowance were given back: it is admitted now (rate 2 per minute).
    authorizer.reserve(second, 'execution').commit();
  });

  it('a cell takes no in-flight slot', async () => {
    authorizer = await tokenAuthorizer({ max_concurrent: 1, max_queued: 0, sessions: true });
    const opener = await authorizer.authenticate(
      bearer(await issuer.mint({ intent: { max_executions: 3 } })),
    );
    authorizer.reserve(opener, 'open').commit();
    authorizer.reserve(opener, 'cell').commit();
    authorizer.reserve(opener, 'cell').commit();
    expect(() => authorizer.reserve(opener, 'cell')).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });
});
