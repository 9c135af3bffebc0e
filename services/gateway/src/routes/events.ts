// GET /v1/executions/:id/events: Server-Sent Events. A watcher first gets every event it missed (state changes,
// output chunks), then live ones, and the stream ends after the `result` event. Open streams are bounded.
// Session cells stream the same way: a running cell from its session's feed, a finished one from the store.

import type { ExecutionEvent } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';
import { EventStreams } from './event-stream.ts';
import { checkId, ExecutionIdParams } from './executions.ts';

export interface EventRoutesOptions {
  queue: JobQueue;
  /** Running session cells are watched here first (they are not in the queue). */
  cells?: {
    watchCell(tenant: string, id: string, signal: AbortSignal): AsyncIterable<ExecutionEvent> | undefined;
  };
  authenticate: Authorizer['authenticate'];
  maxWatchers: number;
  /** Interval of comment lines that keep idle connections open. @default 15000 */
  keepAliveMs?: number;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, options) => {
  const streams = new EventStreams(options.maxWatchers, options.keepAliveMs);
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
      streams.admit();
      const controller = new AbortController();
      const events =
        options.cells?.watchCell(who.tenant, id, controller.signal) ??
        (await options.queue.watch(who.tenant, id, controller.signal));
      const stream = streams.open(reply, () => controller.abort());
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
          stream.send(seq, name, data);
        }
      } finally {
        stream.end();
      }
    },
  );
};
