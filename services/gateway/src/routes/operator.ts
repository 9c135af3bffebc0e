// The operator console's data beyond the tenant API: the service's metrics as JSON (GET /v1/stats), the workers
// that run jobs (GET /v1/workers) and one execution's audit records (GET /v1/executions/:id/audit). All need an
// operator token in token mode (403 for an ordinary tenant token); the audit records are the caller's tenant's
// only (another's: 404).

import { AirlockError, Worker } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Authorizer } from '../authorizer.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { ErrorResponse } from '../openapi-schemas.ts';
import { executionAuditRecords } from '../operator/execution-audit.ts';
import { ServiceStats, serviceStats } from '../operator/stats.ts';
import { checkId, ExecutionIdParams } from './executions.ts';

export interface OperatorRoutesOptions {
  queue: JobQueue;
  authorizer: Pick<Authorizer, 'authenticate' | 'authorizeOperator' | 'mode'>;
  metrics: GatewayMetrics;
  /** This process's audit log; without it the audit route answers no records. */
  auditLogPath: string | undefined;
  /** The workers up now: the heartbeats on NATS, or the embedded mode's one in-process worker. */
  workers: () => Promise<Worker[]>;
}

const WorkerList = z.object({
  /** Every worker whose last heartbeat is younger than its TTL, oldest start first. */
  workers: z.array(Worker),
});

const AuditRecords = z.object({
  /** The records of this execution in this gateway's audit log, in order (identities, decisions, hashes). */
  data: z.array(z.record(z.string(), z.unknown())),
});

export const operatorRoutes: FastifyPluginAsyncZod<OperatorRoutesOptions> = async (app, options) => {
  const { authorizer } = options;
  const operator = async (headers: Record<string, unknown>) => {
    const caller = await authorizer.authenticate(headers);
    authorizer.authorizeOperator(caller);
    return caller;
  };

  app.get(
    '/v1/stats',
    {
      schema: {
        operationId: 'getStats',
        summary: "The service's metrics as JSON (operator token)",
        errorCodes: ['forbidden'],
        description:
          'The `airlock_` metrics of /metrics (queue, outcomes, refusals, durations per backend, warm pools) ' +
          'with their samples. Needs an operator token in token mode.',
        response: { 200: ServiceStats, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      await operator(request.headers);
      reply.header('cache-control', 'no-store');
      return serviceStats(options.metrics.registry, authorizer.mode);
    },
  );

  app.get(
    '/v1/workers',
    {
      schema: {
        operationId: 'listWorkers',
        summary: 'The workers that run jobs (operator token)',
        errorCodes: ['forbidden'],
        description:
          'Every worker up now: id (the `runner` of the executions it runs), host, version, start time, backends, ' +
          'running executions and capacity, warm pools (target, ready, hits, misses) and templates with their ' +
          'state. On NATS each worker announces itself every third of its `ttl_ms` (AIRLOCK_WORKER_TTL_MS); ' +
          'one that stops is removed at once, one that died drops out `ttl_ms` after `last_seen`. The embedded ' +
          'mode answers its one in-process worker. Needs an operator token in token mode.',
        response: { 200: WorkerList, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      await operator(request.headers);
      reply.header('cache-control', 'no-store');
      return { workers: await options.workers() };
    },
  );

  app.get(
    '/v1/executions/:id/audit',
    {
      schema: {
        operationId: 'listExecutionAuditRecords',
        summary: "An execution's audit records (operator token)",
        errorCodes: ['forbidden', 'execution_not_found'],
        description:
          "The records of the execution's life in this gateway's audit log. Needs an operator token in token mode.",
        params: ExecutionIdParams,
        response: { 200: AuditRecords, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const who = await operator(request.headers);
      const id = checkId(request.params.id);
      const execution = await options.queue.get(who.tenant, id);
      if (!execution) throw new AirlockError('execution_not_found', `no execution ${id}`);
      reply.header('cache-control', 'no-store');
      const data = options.auditLogPath
        ? await executionAuditRecords(options.auditLogPath, who.tenant, id)
        : [];
      return { data: data as unknown as Record<string, unknown>[] };
    },
  );
};
