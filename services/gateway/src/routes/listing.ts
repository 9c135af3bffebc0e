// GET /v1/executions and GET /v1/sessions: the caller's tenant's executions and sessions, newest first, with
// filters and sealed cursors (`{"data": [...], "next": cursor | null}`). Pages are keyed by (created time,
// id), so executions submitted while a caller pages go before its first page and never shift the rest.

import { Execution, Session } from '@airlock/protocol';
import type { Authorizer } from '@airlock/sessions';
import type { ExecutionStore, SessionStore } from '@airlock/store';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CursorSeal } from '../listing/cursor-seal.ts';
import { ExecutionListQuery, labelFilters, SessionListQuery } from '../listing/list-query.ts';
import { ErrorResponse } from '../openapi-schemas.ts';

export interface ListingRoutesOptions {
  authenticate: Authorizer['authenticate'];
  cursors: CursorSeal;
  listExecutions: ExecutionStore['list'];
  /** Without it, /v1/sessions is not listed (no sessions in this mode). */
  listSessions?: SessionStore['listSessions'];
}

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    /** The cursor of the next page, or null on the last one. */
    next: z.string().nullable(),
  });

function times(query: { created_after?: string | undefined; created_before?: string | undefined }) {
  return {
    ...(query.created_after === undefined ? {} : { createdAfter: query.created_after }),
    ...(query.created_before === undefined ? {} : { createdBefore: query.created_before }),
  };
}

function defined<T extends object>(values: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as never;
}

export const listingRoutes: FastifyPluginAsyncZod<ListingRoutesOptions> = async (app, options) => {
  const { authenticate, cursors } = options;

  app.get(
    '/v1/executions',
    {
      schema: {
        operationId: 'listExecutions',
        summary: "List the caller's executions",
        errorCodes: ['invalid_request'],
        description:
          'Newest first. Filters: status, outcome, language, backend, template, `metadata.LABEL=value`, ' +
          'created_after, created_before (ISO 8601, exclusive). `limit` 1..1000 (default 100); pass `next` ' +
          'back as `cursor` for the following page. A cursor is bound to its list and tenant.',
        querystring: ExecutionListQuery,
        response: { 200: page(Execution), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      const q = request.query;
      const result = await options.listExecutions(who.tenant, {
        ...defined({
          status: q.status,
          outcome: q.outcome,
          language: q.language,
          backend: q.backend,
          template: q.template,
        }),
        ...times(q),
        labels: labelFilters(q),
        limit: q.limit,
        ...(q.cursor === undefined ? {} : { cursor: cursors.open('executions', who.tenant, q.cursor) }),
      });
      return {
        data: result.executions,
        next: result.nextCursor === null ? null : cursors.seal('executions', who.tenant, result.nextCursor),
      };
    },
  );

  const listSessions = options.listSessions;
  if (!listSessions) return;
  app.get(
    '/v1/sessions',
    {
      schema: {
        operationId: 'listSessions',
        summary: "List the caller's sessions",
        description:
          'Newest first, as last recorded (open sessions are recorded when opened, after each cell and when ' +
          'closed). Filters: status, language, backend, template, `metadata.LABEL=value`, created_after, created_before. ' +
          'Paged like /v1/executions.',
        querystring: SessionListQuery,
        response: { 200: page(Session), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const who = await authenticate(request.headers);
      const q = request.query;
      const result = await listSessions(who.tenant, {
        ...defined({ status: q.status, language: q.language, backend: q.backend, template: q.template }),
        ...times(q),
        labels: labelFilters(q),
        limit: q.limit,
        ...(q.cursor === undefined ? {} : { cursor: cursors.open('sessions', who.tenant, q.cursor) }),
      });
      return {
        data: result.sessions,
        next: result.nextCursor === null ? null : cursors.seal('sessions', who.tenant, result.nextCursor),
      };
    },
  );
};
