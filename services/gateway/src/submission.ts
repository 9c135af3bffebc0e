// Accepting an execution, the same for every surface: authenticate, authorize (request ∩ intent ∩ tenant;
// nothing is spent), choose the backend, apply limits, then hand it to the queue, whose admit() step reserves
// the token use, rate and quota and makes the `accepted` audit record durable before any worker can start it.
// A refusal at any step gives back whatever was reserved and is recorded (`rejected`, with the execution id
// when its `accepted` record was already written) before answering. Must never let an execution run whose
// `accepted` record is not on disk, and never spend anything for a refused request or an Idempotency-Key replay.

import { type AuditSink, acceptedEntry, canceledEntry, rejectedEntry } from '@airlock/audit';
import { narrowPolicy } from '@airlock/auth';
import {
  AirlockError,
  aboveServerCeiling,
  type Backend,
  type Caller,
  type Execution,
  type ExecutionRequest,
  type Language,
  type LimitPolicy,
  newExecutionId,
  resolveLimits,
} from '@airlock/protocol';
import { type JobQueue, requestHash, type SubmitOutcome } from '@airlock/queue';
import { templateOfJob } from '@airlock/sandbox';
import {
  type Admission,
  type Authorizer,
  admitWithRecord,
  auditFailure,
  checkCallback,
  recordRefusal,
  type SubmissionGrant,
} from '@airlock/sessions';
import type { Webhooks } from './webhooks/webhooks.ts';

/** Chooses the backend that runs a request: the sandbox registry of this process's worker, or of the fleet. */
export interface BackendChooser {
  /** The backend, or AirlockError `backend_unavailable`; `allowed` restricts what `auto` may choose. */
  resolve(
    language: Language,
    requested: Backend,
    allowed: SubmissionGrant['backends'],
    template?: string,
  ): Execution['backend'];
}

export interface SubmissionDeps {
  queue: JobQueue;
  registry: BackendChooser;
  audit: AuditSink;
  authorizer: Authorizer;
  limits: LimitPolicy;
  /**
   * Default and ceiling of limits.compile_wall_time_ms (the compile step of a template language).
   * @default 30000 / 120000
   */
  compileWallTime?: { default: number; ceiling: number };
  /**
   * True when the workers can give runs network egress (an egress proxy is running; every backend then offers
   * it: containers on the egress network, the isolate through guest fetch).
   * @default false: a request asking for egress is refused with `egress_unavailable`
   */
  egress?: boolean;
  /**
   * Names of the credential bindings the workers' proxies hold (AIRLOCK_EGRESS_CREDENTIALS_FILE); a run
   * naming any other is refused with `egress_unavailable`.
   * @default none
   */
  credentials?: readonly string[];
  /**
   * Checks and delivers callbacks (`callback` of a request) and the tenant's webhooks.
   * @default none: a request naming a callback is refused with `callback_refused`
   */
  webhooks?: Webhooks;
  onRejected?: (code: string) => void;
  /** A `rejected` or `canceled` record the audit log could not take. @default ignored */
  onAuditError?: (error: unknown) => void;
  now?: () => Date;
}

export class ExecutionSubmitter {
  readonly #deps: SubmissionDeps;
  /** Admissions of executions accepted here and not finished yet (they hold an in-flight slot). */
  readonly #admissions = new Map<string, Admission>();

  constructor(deps: SubmissionDeps) {
    this.#deps = deps;
  }

  async submit(
    headers: Record<string, unknown>,
    request: ExecutionRequest,
    idempotencyKey?: string,
  ): Promise<SubmitOutcome> {
    const { queue, audit, authorizer } = this.#deps;
    let caller: Caller | undefined;
    let admission: Admission | undefined;
    let accepted: string | undefined;
    let registered: string | undefined;
    try {
      caller = await authorizer.authenticate(headers);
      const callback = request.callback;
      if (callback) await checkCallback(this.#deps.webhooks, caller.tenant, callback);
      const grant = authorizer.authorizeSubmission(caller, request);
      const execution = this.#newExecution(caller, request, grant);
      const who = caller;
      // Kept before the execution exists: its first lifecycle event may be routed at once, by any gateway.
      if (callback) {
        await this.#deps.webhooks?.register(who.tenant, execution.id, callback);
        registered = execution.id;
      }
      const template = templateOfJob(request.language, request.template);
      const outcome = await queue.submit({
        execution,
        request,
        requestHash: requestHash(request),
        ...(template === undefined ? {} : { template }),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        admit: async (queued) => {
          const entry = acceptedEntry(queued, request, who, grant.capability);
          admission = await admitWithRecord(authorizer, audit, who, 'execution', entry);
          accepted = queued.id;
          // Registered now: a worker elsewhere may finish it before submit() returns here.
          this.#admissions.set(queued.id, admission);
        },
      });
      // A replay: the execution made before keeps its own callback; this one never came to be.
      if (!outcome.created && registered !== undefined) await this.#forget(registered);
      if (outcome.created) admission?.commit();
      return outcome;
    } catch (thrown) {
      admission?.release();
      if (accepted !== undefined) this.#admissions.delete(accepted);
      if (registered !== undefined) await this.#forget(registered);
      const error = auditFailure(thrown);
      // An execution whose `accepted` record is written always gets an end: `rejected`, whatever failed.
      const refusal =
        error instanceof AirlockError
          ? error
          : accepted !== undefined
            ? new AirlockError('internal_error')
            : undefined;
      if (refusal) {
        this.#deps.onRejected?.(refusal.code);
        const entry = { ...rejectedEntry(caller, refusal, request.language), execution_id: accepted ?? null };
        await recordRefusal(audit, entry, refusal.code, (e) => this.#deps.onAuditError?.(e));
      }
      throw error;
    }
  }

  /** Drops the callback of an execution that never came to be; a failure only leaves it to its TTL. */
  async #forget(id: string): Promise<void> {
    await this.#deps.webhooks?.forget(id).catch(() => {});
  }

  #newExecution(caller: Caller, request: ExecutionRequest, grant: SubmissionGrant): Execution {
    const backend = this.#deps.registry.resolve(
      request.language,
      request.backend,
      grant.backends,
      request.template,
    );
    if (request.network.egress === 'proxy' && this.#deps.egress !== true) {
      throw new AirlockError(
        'egress_unavailable',
        `network egress is not available for backend '${backend}' on this server`,
        { field: 'network.egress' },
      );
    }
    if (request.network.egress === 'proxy') this.#checkCredentials(request.network.credentials);
    this.#resolveCompileWallTime(request);
    return {
      id: newExecutionId(),
      tenant: caller.tenant,
      status: 'queued',
      language: request.language,
      backend,
      limits: resolveLimits(request.limits, narrowPolicy(this.#deps.limits, grant)),
      metadata: request.metadata,
      created_at: (this.#deps.now?.() ?? new Date()).toISOString(),
      started_at: null,
      finished_at: null,
      result: null,
      template: request.template ?? null,
    };
  }

  /** Sets limits.compile_wall_time_ms on the request the worker gets: the asked value, or the default. */
  #resolveCompileWallTime(request: ExecutionRequest): void {
    const policy = this.#deps.compileWallTime ?? { default: 30_000, ceiling: 120_000 };
    const asked = request.limits.compile_wall_time_ms;
    if (asked !== undefined && asked > policy.ceiling) {
      throw new AirlockError(
        'invalid_request',
        `limits.compile_wall_time_ms: ${aboveServerCeiling(asked, policy.ceiling)}`,
        { field: 'limits.compile_wall_time_ms' },
      );
    }
    request.limits.compile_wall_time_ms = asked ?? Math.min(policy.default, policy.ceiling);
  }

  /** A credential the server has no binding for is refused now, not when the run starts. */
  #checkCredentials(names: readonly string[]): void {
    const bound = this.#deps.credentials ?? [];
    for (const [i, name] of names.entries()) {
      if (!bound.includes(name)) {
        throw new AirlockError('egress_unavailable', `credential '${name}' has no binding on this server`, {
          field: `network.credentials[${i}]`,
        });
      }
    }
  }

  /**
   * Whether a queued execution may start now, for the queue's dispatch: false while its tenant already runs
   * `max_concurrent` executions (it then waits in the queue, keeping its place; it is never refused for it).
   * Once true, it counts as running until finished() frees its slot.
   */
  mayStart(execution: Execution): boolean {
    return this.#admissions.get(execution.id)?.start() ?? true;
  }

  /** Frees the in-flight slot held by a finished execution (its token use and rate stay spent). */
  finished(execution: Execution): void {
    const admission = this.#admissions.get(execution.id);
    if (!admission) return;
    this.#admissions.delete(execution.id);
    admission.commit();
    admission.release();
  }

  /** Cancels; a cancel is never refused for want of an audit record (a failed append is reported). */
  async cancel(caller: Caller, id: string): Promise<Execution> {
    const execution = await this.#deps.queue.cancel(caller.tenant, id);
    await this.#deps.audit
      .append(canceledEntry(execution, caller))
      .catch((error: unknown) => this.#deps.onAuditError?.(error));
    return execution;
  }
}
