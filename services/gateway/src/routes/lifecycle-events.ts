// GET /v1/events (a page of the caller's lifecycle events after a cursor) and GET /v1/events/stream (the same
// feed as Server-Sent Events, resumed from `Last-Event-ID` or `?after=`). Every event carries the cursor of
// its position; `next` is always a cursor to resume from, even on an empty page. Tenant-scoped by the cursor
// seal and by the log's reads; never shows another tenant's event. Open streams are bounded.

import { LifecycleEvent, type LifecycleEventType } from '@airlock/protocol';
import type { Authorizer } from '@airlock/sessions';
import type { LifecycleEventLog, LifecycleEvents } from '@airlock/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CursorSeal } from '../listing/cursor-seal.ts';
import { EventFeedQuery, EventStreamQuery } from '../listing/list-query.ts';
import { ErrorResponse } from '../openapi-schemas.ts';
import { EventStreams } from './event-stream.ts';

export interface LifecycleEventRoutesOptions {
  authenticate: Authorizer['authenticate'];
  cursors: CursorSeal;
  log: LifecycleEventLog;
  /** Wakes open streams when this process publishes. */
  events: LifecycleEvents;
  maxStreams: number;
  /** How often an idle stream looks for events published elsewhere (other gateways). @default 1000 */
  pollMs?: number;
  /** Interval of comment lines that keep idle connections open. @default 15000 */
  keepAliveMs?: number;
}

const FeedEvent = LifecycleEvent.extend({ cursor: z.string() });
const FeedPage = z.object({ data: z.array(FeedEvent), next: z.string() });
const STREAM_BATCH = 100;

export const lifecycleEventRoutes: FastifyPluginAsyncZod<LifecycleEventRoutesOptions> = async (
  app,
  options,
) => {
  const { authenticate, cursors, log } = options;
  const position = (tenant: string, cursor: string | undefined, field = 'query.after') =>
    cursor === undefined ? 0 : Number(cursors.open('events', tenant, cursor, field));

  app.get(
    '/v1/events',
    {
      schema: {
        operationId: 'listLifecycleEvents',
        summary: "Read the caller's lifecycle events",
        description:
          'Oldest first, after the cursor `after` (from the oldest retained without it). `types` is a comma-' +
          'separated list of event types; `limit` 1..1000 (default 100). Pass `next` back as `after` to resume.',
        querystring: EventFeedQuery,
        response: { 200: FeedPage, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      const after = position(who.tenant, request.query.after);
      const logged = await log.read(who.tenant, {
        after,
        limit: request.query.limit,
        ...(request.query.types ? { types: request.query.types } : {}),
      });
      const last = logged.at(-1)?.seq ?? after;
      return {
        data: logged.map(({ seq, event }) => ({
          ...event,
          cursor: cursors.seal('events', who.tenant, String(seq)),
        })),
        next: cursors.seal('events', who.tenant, String(last)),
      };
    },
  );

  const streams = new EventStreams(options.maxStreams, options.keepAliveMs);
  app.get(
    '/v1/events/stream',
    {
      schema: {
        operationId: 'streamLifecycleEvents',
        summary: "Stream the caller's lifecycle events as Server-Sent Events",
        errorCodes: ['queue_full'],
        description:
          'Each event is an SSE event named by its type, with the event as data and its cursor as id; ' +
          'reconnect with `Last-Event-ID` (or `?after=`) to resume where it stopped.',
        querystring: EventStreamQuery,
        headers: z.object({ 'last-event-id': z.string().max(512).optional() }),
        response: {
          200: {
            description: 'Lifecycle events, each an SSE event named by its type with the event as JSON data.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const who = await authenticate(request.headers);
      const resumeAt = request.headers['last-event-id'];
      let after =
        resumeAt === undefined
          ? position(who.tenant, request.query.after)
          : position(who.tenant, resumeAt, 'headers.last-event-id');
      const types = request.query.types;
      streams.admit();
      let wake: (() => void) | undefined;
      let closed = false;
      const stream = streams.open(reply, () => {
        closed = true;
        wake?.();
      });
      const unsubscribe = options.events.subscribe(({ event }) => {
        if (event.tenant === who.tenant) wake?.();
      });
      try {
        while (!closed) {
          const logged = await log.read(who.tenant, {
            after,
            limit: STREAM_BATCH,
            ...(types ? { types: types as LifecycleEventType[] } : {}),
          });
          for (const { seq, event } of logged) {
            const cursor = cursors.seal('events', who.tenant, String(seq));
            stream.send(cursor, event.type, { ...event, cursor });
            after = seq;
          }
          if (logged.length === STREAM_BATCH) continue;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, options.pollMs ?? 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        unsubscribe();
        stream.end();
      }
    },
  );
};
