// GET /v1/executions/:id/deliveries and GET /v1/sessions/:id/deliveries: the webhook delivery log of one of
// the caller's executions or sessions. Another tenant's subject is not found, exactly like an unknown id.

import { AirlockError, DeliveryLogPage, isSessionId } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer, SessionsApi } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse } from '../openapi-schemas.ts';
import type { Webhooks } from '../webhooks/webhooks.ts';
import { checkId, ExecutionIdParams } from './executions.ts';

export interface DeliveryRoutesOptions {
  queue: JobQueue;
  sessions?: Pick<SessionsApi, 'get'>;
  webhooks: Webhooks;
  authenticate: Authorizer['authenticate'];
}

export const deliveryRoutes: FastifyPluginAsyncZod<DeliveryRoutesOptions> = async (app, options) => {
  const { queue, sessions, webhooks, authenticate } = options;

  app.get(
    '/v1/executions/:id/deliveries',
    {
      schema: {
        operationId: 'listExecutionDeliveries',
        summary: "The webhook delivery attempts of an execution's events",
        errorCodes: ['execution_not_found'],
        description:
          'Every attempt to deliver a lifecycle event of this execution to its callback or a tenant webhook: ' +
          'attempt number, HTTP status, latency and error, oldest first. Kept in memory (bounded) in embedded mode; in NATS mode every gateway answers the same.',
        params: ExecutionIdParams,
        response: { 200: DeliveryLogPage, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      const id = checkId(request.params.id);
      const execution = await queue.get(who.tenant, id);
      if (!execution) throw new AirlockError('execution_not_found', `no execution ${id}`);
      return { data: await webhooks.log.attempts(who.tenant, id) };
    },
  );

  if (sessions) {
    app.get(
      '/v1/sessions/:id/deliveries',
      {
        schema: {
          operationId: 'listSessionDeliveries',
          summary: "The webhook delivery attempts of a session's events",
          errorCodes: ['not_found'],
          params: ExecutionIdParams,
          response: { 200: DeliveryLogPage, '4xx': ErrorResponse },
        },
      },
      async (request) => {
        const id = request.params.id;
        if (!isSessionId(id))
          throw new AirlockError('not_found', `no session ${JSON.stringify(id.slice(0, 64))}`);
        // Throws the sessions' own not-found for an unknown id or another tenant's session.
        const session = await sessions.get(request.headers, id);
        return { data: await webhooks.log.attempts(session.tenant, id) };
      },
    );
  }
};
