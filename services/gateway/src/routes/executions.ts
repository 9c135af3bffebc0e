// POST/GET/DELETE /v1/executions: submit (optionally waiting for the result), read, cancel.

import { AirlockError, Execution, isExecutionId, type RequestSchemas } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';
import type { ExecutionSubmitter } from '../submission.ts';

export interface ExecutionRoutesOptions {
  queue: JobQueue;
  submitter: ExecutionSubmitter;
  authenticate: Authorizer['authenticate'];
  maxWaitSeconds: number;
  /** This server's request schemas (limits within its ceilings). */
  schemas: RequestSchemas;
}

export const ExecutionIdParams = z.object({ id: z.string() });

const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters');

/** Unknown and malformed ids look the same to the caller: not found. */
export function checkId(id: string): string {
  if (!isExecutionId(id))
    throw new AirlockError('execution_not_found', `no execution ${JSON.stringify(id.slice(0, 64))}`);
  return id;
}

export const executionRoutes: FastifyPluginAsyncZod<ExecutionRoutesOptions> = async (app, options) => {
  const { queue, submitter, authenticate, maxWaitSeconds } = options;

  app.post(
    '/v1/executions',
    {
      schema: {
        operationId: 'createExecution',
        summary: 'Submit code for execution',
        description:
          'Queues the code and answers 201 with the execution. With `?wait=N` it waits up to N seconds: 201 with ' +
          'the finished execution, or 202 with its current state. A repeated Idempotency-Key with the same body ' +
          'answers 200 with the first execution; with a different body, 409. While the audit log cannot be ' +
          'written, every submission is refused with 503 `audit_unavailable` and Retry-After (nothing is queued).',
        body: options.schemas.execution,
        querystring: z.object({ wait: z.coerce.number().min(0).max(maxWaitSeconds).optional() }).strict(),
        headers: z.object({ 'idempotency-key': IdempotencyKey.optional() }),
        response: {
          200: Execution,
          201: Execution,
          202: Execution,
          '4xx': ErrorResponse,
          '5xx': ErrorResponse,
        },
        responseDescriptions: {
          200: 'An Idempotency-Key seen before with the same body: the first execution (`Idempotent-Replayed: true`).',
          201: 'Accepted: queued, or finished when `?wait=` was given and the execution ended in time.',
          202: 'Still queued or running when the `?wait=` seconds ran out.',
        },
        errorCodes: [
          'forbidden',
          'idempotency_conflict',
          'backend_unavailable',
          'template_unavailable',
          'egress_unavailable',
          'queue_full',
          'rate_limited',
          'quota_exceeded',
          'audit_unavailable',
          'store_unavailable',
        ],
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { execution, created } = await submitter.submit(request.headers, request.body, key);
      void reply.header('location', `/v1/executions/${execution.id}`);
      if (!created) void reply.header('idempotent-replayed', 'true');
      const wait = request.query.wait;
      if (wait === undefined || wait === 0 || execution.status === 'finished') {
        return reply.code(created ? 201 : 200).send(execution);
      }
      const current = await queue.wait(execution.tenant, execution.id, wait * 1000);
      if (current.status === 'finished') return reply.code(created ? 201 : 200).send(current);
      return reply.code(202).send(current);
    },
  );

  app.get(
    '/v1/executions/:id',
    {
      schema: {
        operationId: 'getExecution',
        summary: 'Read an execution',
        errorCodes: ['execution_not_found'],
        params: ExecutionIdParams,
        response: { 200: Execution, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      const execution = await queue.get(who.tenant, checkId(request.params.id));
      if (!execution) throw new AirlockError('execution_not_found', `no execution ${request.params.id}`);
      return execution;
    },
  );

  app.delete(
    '/v1/executions/:id',
    {
      schema: {
        operationId: 'cancelExecution',
        summary: 'Cancel a queued or running execution',
        errorCodes: ['execution_not_found', 'execution_finished'],
        description:
          'Answers 200 with the execution, now finished with outcome `canceled`; 409 if it had already finished.',
        params: ExecutionIdParams,
        response: { 200: Execution, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      return submitter.cancel(who, checkId(request.params.id));
    },
  );
};
