import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileAuditLog, sha256Hex } from '@airlock/audit';
import { createTestIssuer, TEST_ISSUER, TEST_SUBJECT, type TestIssuer } from '@airlock/auth/testing';
import { AirlockError, type Execution, ExecutionRequest } from '@airlock/protocol';
import { type JobQueue, MemoryJobQueue, withSubmit as queueWithSubmit } from '@airlock/queue';
import { type Authorizer, LOCAL_CALLER, localAuthorizer } from '@airlock/sessions';
import { bearer, tokenAuthorizer } from '@airlock/sessions/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetRegistry } from './nats/fleet-registry.ts';
import { ExecutionSubmitter, type SubmissionDeps } from './submission.ts';

const LIMITS = {
  defaults: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1024 },
  ceilings: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 256, output_bytes: 1_000_000 },
};
const HELLO = ExecutionRequest.parse({ language: 'javascript', code: 'console.log(1)' });
const NOW = new Date('2030-01-02T03:04:05.000Z');

let dir: string;
let audit: FileAuditLog;
let queue: MemoryJobQueue;
let issuer: TestIssuer;
let authorizer: Authorizer;

function submitter(jobs: JobQueue = queue, deps: Partial<SubmissionDeps> = {}): ExecutionSubmitter {
  return new ExecutionSubmitter({
    queue: jobs,
    registry: fleetRegistry(['isolate']),
    audit,
    authorizer,
    limits: LIMITS,
    now: () => NOW,
    ...deps,
  });
}

async function records(): Promise<Array<Record<string, any>>> {
  const text = await readFile(audit.path, 'utf8');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line));
}

/** The queue with another submit() in front of it. */
function withSubmit(submit: JobQueue['submit']): JobQueue {
  return queueWithSubmit(queue, submit);
}

/** The error a promise rejects with. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('accepted'),
    (error: unknown) => error as AirlockError,
  );

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-submission-'));
  audit = await FileAuditLog.open(join(dir, 'audit.jsonl'));
  // Nothing consumes it: what is accepted stays queued.
  queue = new MemoryJobQueue({ concurrency: 1, maxQueued: 10, retentionMs: 60_000, maxRetained: 100 });
  issuer = await createTestIssuer();
  authorizer = tokenAuthorizer(issuer);
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

describe('ExecutionSubmitter: the execution it makes', () => {
  it('in local mode: tenant local, the server defaults, the clock it is given, an accepted record with no token', async () => {
    authorizer = localAuthorizer;
    const { execution } = await submitter().submit({}, HELLO);
    expect(execution).toMatchObject({
      tenant: 'local',
      status: 'queued',
      language: 'javascript',
      backend: 'isolate',
      limits: LIMITS.defaults,
      metadata: {},
      created_at: NOW.toISOString(),
      started_at: null,
      result: null,
    });
    expect(await records()).toEqual([
      expect.objectContaining({
        type: 'accepted',
        execution_id: execution.id,
        tenant: 'local',
        subject: null,
        code_sha256: sha256Hex(HELLO.code),
        detail: expect.objectContaining({ issuer: null, jti: null, act: null, capability: null }),
      }),
    ]);
  });

  it("limits within the token's ceilings: a default above one comes down to it", async () => {
    const token = await issuer.mint({ intent: { limits: { memory_mb: 32 } } });
    const { execution } = await submitter().submit(bearer(token), HELLO);
    expect(execution.limits).toEqual({ ...LIMITS.defaults, memory_mb: 32 });
    const [accepted] = await records();
    expect(accepted).toMatchObject({
      subject: TEST_SUBJECT,
      limits: { ...LIMITS.defaults, memory_mb: 32 },
      detail: { issuer: TEST_ISSUER, capability: { ceilings: { memory_mb: 32 } } },
    });
  });
});

describe('ExecutionSubmitter: refusals are recorded and spend nothing', () => {
  it('an unauthenticated request: rejected as tenant "unauthenticated", with the language', async () => {
    const rejected: string[] = [];
    const error = await refusal(
      submitter(queue, { onRejected: (code) => rejected.push(code) }).submit({}, HELLO),
    );
    expect(error).toMatchObject({ code: 'unauthorized' });
    expect(rejected).toEqual(['unauthorized']);
    expect(await records()).toEqual([
      expect.objectContaining({
        type: 'rejected',
        execution_id: null,
        tenant: 'unauthenticated',
        subject: null,
        language: 'javascript',
        reason: 'missing token: no intent token was presented',
        detail: {
          issuer: null,
          jti: null,
          act: null,
          decision: 'refused',
          code: 'unauthorized',
          field: null,
        },
      }),
    ]);
    expect(queue.stats()).toMatchObject({ queued: 0 });
  });

  it('a backend this server does not run: backend_unavailable, the token still usable', async () => {
    authorizer = tokenAuthorizer(issuer, { backends: ['isolate', 'docker'] });
    const token = await issuer.mint({ jti: 'kept' });
    const docker = ExecutionRequest.parse({ ...HELLO, backend: 'docker' });
    expect(await refusal(submitter().submit(bearer(token), docker))).toMatchObject({
      code: 'backend_unavailable',
      field: 'backend',
      message: "backend 'docker' cannot run language 'javascript' on this server",
    });
    expect((await records())[0]).toMatchObject({
      type: 'rejected',
      tenant: 'acme',
      subject: TEST_SUBJECT,
      detail: { jti: 'kept', code: 'backend_unavailable', field: 'backend' },
    });
    expect((await submitter().submit(bearer(token), HELLO)).created).toBe(true);
  });

  it('egress where no proxy runs, or with a credential that has no binding: egress_unavailable', async () => {
    authorizer = localAuthorizer;
    const egress = (credentials: string[]) =>
      ExecutionRequest.parse({
        ...HELLO,
        network: { egress: 'proxy', allow: [{ host: 'api.example.test' }], credentials },
      });
    expect(await refusal(submitter().submit({}, egress([])))).toMatchObject({
      code: 'egress_unavailable',
      field: 'network.egress',
      message: "network egress is not available for backend 'isolate' on this server",
    });
    const withProxy = submitter(queue, { egress: true, credentials: ['gh'] });
    expect(await refusal(withProxy.submit({}, egress(['gh', 'aws'])))).toMatchObject({
      code: 'egress_unavailable',
      field: 'network.credentials[1]',
      message: "credential 'aws' has no binding on this server",
    });
    expect((await withProxy.submit({}, egress(['gh']))).created).toBe(true);
    expect((await records()).map((r) => `${r.type} ${r.detail.code ?? ''}`)).toEqual([
      'rejected egress_unavailable',
      'rejected egress_unavailable',
      'accepted ',
    ]);
  });
});

describe('ExecutionSubmitter: cancel and the end of an execution', () => {
  it('cancel ends a queued execution and records who canceled it', async () => {
    authorizer = localAuthorizer;
    const { execution } = await submitter().submit({}, HELLO);
    const canceled = await submitter().cancel(LOCAL_CALLER, execution.id);
    expect(canceled).toMatchObject({ id: execution.id, status: 'finished', result: { outcome: 'canceled' } });
    expect((await records()).map((r) => r.type)).toEqual(['accepted', 'canceled']);
    expect((await records())[1]).toMatchObject({
      execution_id: execution.id,
      tenant: 'local',
      subject: null,
      detail: { status: 'finished' },
    });
  });

  it('finished() frees the in-flight slot: the tenant may submit again', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 0 });
    const jobs = submitter();
    const { execution } = await jobs.submit(bearer(await issuer.mint()), HELLO);
    expect(await refusal(jobs.submit(bearer(await issuer.mint()), HELLO))).toMatchObject({
      code: 'quota_exceeded',
    });
    jobs.finished(execution);
    jobs.finished(execution); // a second report changes nothing
    expect((await jobs.submit(bearer(await issuer.mint()), HELLO)).created).toBe(true);
    expect(await refusal(jobs.submit(bearer(await issuer.mint()), HELLO))).toMatchObject({
      code: 'quota_exceeded',
    });
  });

  it('beyond max_concurrent an execution is accepted and waits: mayStart says no until a running one ends', async () => {
    authorizer = tokenAuthorizer(issuer, { max_concurrent: 1, max_queued: 2 });
    const jobs = submitter();
    const submitted: Execution[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await jobs.submit(bearer(await issuer.mint()), HELLO);
      expect(outcome.created).toBe(true);
      submitted.push(outcome.execution);
    }
    const [first, second, third] = submitted as [Execution, Execution, Execution];
    expect([jobs.mayStart(first), jobs.mayStart(second), jobs.mayStart(third)]).toEqual([true, false, false]);
    jobs.finished(first);
    expect([jobs.mayStart(second), jobs.mayStart(third)]).toEqual([true, false]);
    jobs.finished(second);
    expect(jobs.mayStart(third)).toBe(true);
    // An execution this submitter did not admit (one queued again after a restart) holds no slot.
    expect(jobs.mayStart({ ...first, id: 'ex_restoredAfterRestart000' })).toBe(true);
  });
});
