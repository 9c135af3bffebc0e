// The `airlock` NATS service (NATS services API, discoverable with `$SRV.PING|INFO|STATS.airlock`): endpoint
// `execute` on `airlock.execute` takes the same JSON as POST /v1/executions with the intent token in an
// `Authorization: Bearer …` header, submits it through the gateway's own ExecutionSubmitter (so
// authorization, quotas and audit are exactly REST's), waits up to AIRLOCK_MAX_WAIT_SECONDS and replies with
// the execution (finished, unless that wait ran out) or a coded error: the `{error:{…}}` body of the one
// table, with the services API's error headers (Nats-Service-Error-Code = the HTTP status, Nats-Service-Error
// = the code). Every gateway adds an instance; requests are spread over them (queue group). The services
// API times only the synchronous part of a handler, so `$SRV.STATS` carries this endpoint's own figures in
// `data`: replies, errors by code, requests in flight and the mean time to answer.
// Must never answer without a code, never crash on a message, and never log a token.

import type { Logger } from '@airlock/logging';
import { AirlockError, type RequestSchemas } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import { type Service, type ServiceMsg, Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ExecutionSubmitter } from '../submission.ts';
import { readExecuteRequest } from './execute-request.ts';

export const SERVICE_NAME = 'airlock';
export const EXECUTE_SUBJECT = 'airlock.execute';

export interface ExecuteServiceDeps {
  nc: NatsConnection;
  submitter: ExecutionSubmitter;
  queue: JobQueue;
  logger: Logger;
  version: string;
  maxWaitSeconds: number;
  bodyLimitBytes: number;
  /** This server's request schemas (limits within its ceilings). */
  schemas: RequestSchemas;
  /** Requests handled at once; more are answered `queue_full`. */
  maxInFlight: number;
}

export interface ExecuteService {
  /** The service instance id (one per gateway process). */
  readonly id: string;
  stop(): Promise<void>;
}

export async function startExecuteService(deps: ExecuteServiceDeps): Promise<ExecuteService> {
  // @nats-io/services 3.0.0-25 is typed against its own copy of @nats-io/nats-core (3.0.0-50); the
  // connection from @nats-io/transport-node 3.4.0 speaks the same protocol and has the same shape at run
  // time, so the type is cast here, at this one boundary.
  const svcm = new Svcm(deps.nc as unknown as ConstructorParameters<typeof Svcm>[0]);
  const stats = new ExecuteStats();
  const service: Service = await svcm.add({
    name: SERVICE_NAME,
    version: deps.version,
    description: 'Sandboxed code execution for AI agents (the REST surface, over NATS request-reply)',
    queue: SERVICE_NAME,
    statsHandler: async () => stats.snapshot(),
  });
  service.addEndpoint('execute', {
    subject: EXECUTE_SUBJECT,
    metadata: {
      request:
        'POST /v1/executions JSON; header Authorization: Bearer <intent token>; optional Idempotency-Key',
      reply: 'the execution JSON, or {"error":{"code","message",...}} with Nats-Service-Error headers',
    },
    handler: (_error, msg) => {
      const started = Date.now();
      if (stats.inFlight >= deps.maxInFlight) {
        const full = new AirlockError('queue_full', 'Too many requests in flight.', { retryAfter: 1 });
        stats.answered(started, replyError(msg, full));
        return;
      }
      stats.inFlight++;
      void execute(deps, msg).then((code) => {
        stats.inFlight--;
        stats.answered(started, code);
      });
    },
  });
  return {
    id: service.info().id,
    async stop() {
      await service.stop().catch(() => {});
    },
  };
}

/** Answers one request; resolves with the error code it answered, or undefined for an execution. */
async function execute(deps: ExecuteServiceDeps, msg: ServiceMsg): Promise<string | undefined> {
  try {
    const input = readExecuteRequest(msg.data, msg.headers, deps);
    const { execution } = await deps.submitter.submit(input.headers, input.request, input.idempotencyKey);
    const current =
      execution.status === 'finished'
        ? execution
        : await deps.queue.wait(execution.tenant, execution.id, deps.maxWaitSeconds * 1000);
    msg.respond(JSON.stringify(current));
    return undefined;
  } catch (error) {
    const coded = error instanceof AirlockError ? error : new AirlockError('internal_error');
    if (coded.status >= 500) deps.logger.error({ err: error }, 'nats execute failed');
    return replyError(msg, coded);
  }
}

function replyError(msg: ServiceMsg, error: AirlockError): string {
  try {
    msg.respondError(error.status, error.code, JSON.stringify(error.toBody()));
  } catch {
    // No reply subject (a publish, not a request), or the connection is gone: nothing to answer.
  }
  return error.code;
}

/** The endpoint's own counters, reported in `$SRV.STATS` as the endpoint's `data`. */
class ExecuteStats {
  inFlight = 0;
  #replies = 0;
  #errors = 0;
  readonly #byCode = new Map<string, number>();
  #totalMs = 0;

  answered(startedAt: number, errorCode: string | undefined): void {
    this.#totalMs += Date.now() - startedAt;
    if (errorCode === undefined) {
      this.#replies++;
      return;
    }
    this.#errors++;
    this.#byCode.set(errorCode, (this.#byCode.get(errorCode) ?? 0) + 1);
  }

  snapshot() {
    const answered = this.#replies + this.#errors;
    return {
      in_flight: this.inFlight,
      executions: this.#replies,
      errors: this.#errors,
      errors_by_code: Object.fromEntries(this.#byCode),
      average_ms: answered === 0 ? 0 : Math.round(this.#totalMs / answered),
    };
  }
}
