// The operator console's data beyond the tenant API: the service's metrics as JSON (GET /v1/stats), the workers
// that run jobs (GET /v1/workers) and one execution's audit records (GET /v1/executions/:id/audit). All need an
// operator token in token mode (403 for an ordinary tenant token); the audit records are the caller's tenant's
// only (another's: 404). On NATS the figures and the records are the fleet's, the same through every gateway.

import { AirlockError, Worker } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayMetrics } from '../metrics.ts';
import { ErrorResponse } from '../openapi-schemas.ts';
import { fileAuditReader } from '../operator/execution-audit.ts';
import { fleetMetrics } from '../operator/fleet-stats.ts';
import { ServiceStats, serviceStats } from '../operator/stats.ts';
import { checkId, ExecutionIdParams } from './executions.ts';

export interface OperatorRoutesOptions {
  queue: JobQueue;
  authorizer: Pick<Authorizer, 'authenticate' | 'authorizeOperator' | 'mode'>;
  metrics: GatewayMetrics;
  /** This process's audit log; without it (and without auditRecords) the audit route answers no records. */
  auditLogPath: string | undefined;
  /** Where an execution's records are read instead of auditLogPath (NATS: the audit stream every process copies to). */
  auditRecords?: ExecutionAuditReader;
  /** The workers up now: the heartbeats on NATS, or the embedded mode's one in-process worker. */
  workers: () => Promise<Worker[]>;
  /** On NATS: /v1/stats counts executions and warm pools from the workers' heartbeats (scope `fleet`). */
  fleetStats?: boolean;
}

/** The audit records of one execution of one tenant, in order. */
export type ExecutionAuditReader = (
  tenant: string,
  executionId: string,
) => Promise<Record<string, unknown>[]>;

const WorkerList = z.object({
  /** Every worker whose last heartbeat is younger than its TTL, oldest start first. */
  workers: z.array(Worker),
});

const AuditRecords = z.object({
  /**
   * The records of this execution, in order (identities, decisions, hashes): from this gateway's audit log, or
   * on NATS from the audit stream, each with `source` (the process whose log holds it: its seq and hashes are
   * that log's chain).
   */
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
          'with their samples. On NATS (`scope: fleet`) the outcomes, durations and warm pools are the ' +
          "workers', from their heartbeats, with a `worker` label: every gateway answers the same. " +
          'Needs an operator token in token mode.',
        response: { 200: ServiceStats, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      await operator(request.headers);
      reply.header('cache-control', 'no-store');
      const fleet = options.fleetStats ? fleetMetrics(await options.workers()) : undefined;
      return serviceStats(options.metrics.registry, authorizer.mode, fleet);
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
          'running executions and capacity, warm pools (target, ready, hits, misses), templates with their ' +
          'state, `state` (`running`, or `draining`: told to stop, finishing its running jobs) and on NATS ' +
          '`stats`, the runs it finished (counts and duration histograms per backend). On NATS each worker ' +
          'announces itself every third of its `ttl_ms` (AIRLOCK_WORKER_TTL_MS) and at once when it begins to ' +
          'drain; one that stops is removed once its jobs end, one that died drops out `ttl_ms` after `last_seen`. The embedded ' +
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
          "The records of the execution's life: in the embedded mode from the gateway's audit log; on NATS from " +
          'the `AIRLOCK_AUDIT` stream every gateway and worker copies its records to (kept ' +
          '`AIRLOCK_AUDIT_STREAM_RETENTION_SECONDS`), so any gateway shows them. Needs an operator token in token mode.',
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
      const read = options.auditRecords ?? fileAuditReader(options.auditLogPath);
      return { data: await read(who.tenant, id) };
    },
  );
};
