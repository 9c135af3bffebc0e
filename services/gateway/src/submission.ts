// Accepting an execution, the same for every surface: authenticate, authorize (request ∩ intent ∩ tenant),
// choose the backend, apply limits, enqueue, and record the decision in the audit log (accepted, or rejected
// with its reason) before answering.

import type { AuditSink } from '@airlock/audit';
import { narrowPolicy } from '@airlock/auth';
import {
  AirlockError,
  type Execution,
  type ExecutionRequest,
  type LimitPolicy,
  newExecutionId,
  resolveLimits,
} from '@airlock/protocol';
import { type JobQueue, requestHash, type SubmitOutcome } from '@airlock/queue';
import { acceptedEntry, canceledEntry, rejectedEntry, type SandboxRegistry } from '@airlock/worker';
import type { Authorizer, Caller, SubmissionGrant } from './authorizer.ts';

export interface SubmissionDeps {
  queue: JobQueue;
  registry: SandboxRegistry;
  audit: AuditSink;
  authorizer: Authorizer;
  limits: LimitPolicy;
  /**
   * Egress (issue #4): true when the workers can give runs network egress (an egress proxy is running; every
   * backend then offers it: containers on the egress network, the isolate through guest fetch).
   * @default false: a request asking for egress is refused with `egress_unavailable`
   */
  egress?: boolean;
  /**
   * Egress (issue #4): names of the credential bindings the workers' proxies hold
   * (AIRLOCK_EGRESS_CREDENTIALS_FILE); a run naming any other is refused with `egress_unavailable`.
   * @default none
   */
  credentials?: readonly string[];
  onRejected?: (code: string) => void;
  now?: () => Date;
}

export class ExecutionSubmitter {
  readonly #deps: SubmissionDeps;
  readonly #grants = new Map<string, SubmissionGrant>();

  constructor(deps: SubmissionDeps) {
    this.#deps = deps;
  }

  async submit(
    headers: Record<string, unknown>,
    request: ExecutionRequest,
    idempotencyKey?: string,
  ): Promise<SubmitOutcome> {
    const { queue, registry, audit, authorizer } = this.#deps;
    let caller: Caller | undefined;
    let grant: SubmissionGrant | undefined;
    try {
      caller = await authorizer.authenticate(headers);
      grant = authorizer.authorizeSubmission(caller, request);
      const backend = registry.resolve(request.language, request.backend, grant.backends);
      if (request.network.egress === 'proxy' && this.#deps.egress !== true) {
        throw new AirlockError(
          'egress_unavailable',
          `network egress is not available for backend '${backend}' on this server`,
          { field: 'network.egress' },
        );
      }
      if (request.network.egress === 'proxy') this.#checkCredentials(request.network.credentials);
      const execution: Execution = {
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
      };
      const outcome = await queue.submit({
        execution,
        request,
        requestHash: requestHash(request),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
      if (!outcome.created) {
        grant.release();
        return outcome;
      }
      this.#grants.set(outcome.execution.id, grant);
      await audit.append(acceptedEntry(outcome.execution, request, caller, grant.capability));
      return outcome;
    } catch (error) {
      grant?.release();
      if (error instanceof AirlockError) {
        this.#deps.onRejected?.(error.code);
        await audit.append(rejectedEntry(caller, error, request.language));
      }
      throw error;
    }
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

  /** Frees the tenant quota held by a finished execution. */
  finished(execution: Execution): void {
    this.#grants.get(execution.id)?.release();
    this.#grants.delete(execution.id);
  }

  async cancel(caller: Caller, id: string): Promise<Execution> {
    const execution = await this.#deps.queue.cancel(caller.tenant, id);
    await this.#deps.audit.append(canceledEntry(execution, caller));
    return execution;
  }
}
