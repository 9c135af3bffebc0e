// GET /v1/executions/:id/events: Server-Sent Events. A watcher first gets every event it missed (state changes,
// output chunks), then live ones, and the stream ends after the `result` event. Open streams are bounded.

import { AirlockError } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Authorizer } from '../authorizer.ts';
import { ErrorResponse } from '../openapi-schemas.ts';
import { checkId, ExecutionIdParams } from './executions.ts';

export interface EventRoutesOptions {
  queue: JobQueue;
  authenticate: Authorizer['authenticate'];
  maxWatchers: number;
  /** Interval of comment lines that keep idle connections open. @default 15000 */
  keepAliveMs?: number;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, options) => {
  let open = 0;
  app.get(
    '/v1/executions/:id/events',
    {
      schema: {
        operationId: 'streamExecutionEvents',
        summary: 'Stream an execution as Server-Sent Events',
        description:
          'Events: `state` ({status}), `stdout`/`stderr` ({data}) as produced, and `result` (the finished ' +
          'execution), after which the stream ends. Late subscribers first receive what they missed.',
        params: ExecutionIdParams,
        response: {
          200: {
            description:
              'A stream of `state`, `stdout`, `stderr` and `result` events, each with an `id` and JSON `data`; ' +
              'comment lines keep an idle connection open.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          '4xx': ErrorResponse,
        },
        errorCodes: ['execution_not_found', 'queue_full'],
      },
    },
    async (request, reply) => {
      const who = await options.authenticate(request.headers);
      const id = checkId(request.params.id);
      if (open >= options.maxWatchers) {
        throw new AirlockError('queue_full', 'too many event streams are open; retry later', {
          retryAfter: 1,
        });
      }
      const controller = new AbortController();
      const events = await options.queue.watch(who.tenant, id, controller.signal);
      open += 1;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
      const onClose = () => controller.abort();
      res.once('close', onClose);
      let seq = 0;
      try {
        for await (const event of events) {
          seq += 1;
          const name = event.type === 'output' ? event.stream : event.type;
          const data =
            event.type === 'output'
              ? { data: event.data }
              : event.type === 'state'
                ? { status: event.status }
                : event.execution;
          res.write(`id: ${seq}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
        }
      } finally {
        clearInterval(keepAlive);
        res.off('close', onClose);
        open -= 1;
        res.end();
      }
    },
  );
};
