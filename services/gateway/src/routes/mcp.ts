// POST /mcp: the Airlock MCP server over streamable HTTP, for agent hosts that connect by URL. The caller's
// bearer intent token is checked by the same Authorizer as REST (401 with the same coded body), then passed on:
// the MCP server reaches Airlock only through @airlock/client with that token, over an in-process fetch built on
// Fastify's inject (no network hop), so every tool call is authorized, narrowed and audited exactly like REST.
// The endpoint is stateless (why: services/mcp/src/http-handler.ts), so GET (a standalone event stream) and
// DELETE (ending an MCP session) have nothing to serve: 405.

import { bearerToken } from '@airlock/auth';
import { serveMcpHttpRequest, type ToolCatalog } from '@airlock/mcp';
import { AirlockError } from '@airlock/protocol';
import type { Authorizer } from '@airlock/sessions';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';

/** A JSON-RPC 2.0 message, or a batch of them (documented only: MCP's own SDK validates what comes in). */
const McpMessage = z.union([
  z.looseObject({ jsonrpc: z.literal('2.0') }),
  z.array(z.looseObject({ jsonrpc: z.literal('2.0') })),
]);

export interface McpRoutesOptions {
  authenticate: Authorizer['authenticate'];
  /** This server's runtimes and limits, for the tools' schemas (read per request: availability changes). */
  catalog: () => ToolCatalog;
}

/** Base URL the in-process client believes it talks to; only its path and query reach inject. */
const IN_PROCESS_URL = 'http://airlock.in-process';
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

type InProcessFetch = (input: string, init: RequestInit) => Promise<Response>;

/** What the in-process fetch reads of an injected answer. */
interface Injected {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  rawPayload: Buffer;
}

/** A fetch answered by this very gateway through `app.inject`: same routes, auth, validation and audit as REST. */
export function inProcessFetch(app: FastifyInstance): InProcessFetch {
  return async (input, init) => {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const url = new URL(input);
    const injected: Promise<Injected> = app
      .inject({
        method: (init.method ?? 'GET') as 'GET' | 'POST' | 'DELETE',
        url: url.pathname + url.search,
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        ...(typeof init.body === 'string' ? { payload: init.body } : {}),
        ...(init.body instanceof Uint8Array ? { payload: Buffer.from(init.body) } : {}),
      })
      .catch((error: unknown) => {
        // Once the gateway closes, inject refuses: the tool call gets the table's shutting_down, as REST does.
        if ((error as { code?: string })?.code !== 'FST_ERR_REOPENED_CLOSE_SERVER') throw error;
        const body = Buffer.from(JSON.stringify(new AirlockError('shutting_down').toBody()));
        return { statusCode: 503, headers: { 'content-type': 'application/json' }, rawPayload: body };
      });
    const answer = signal
      ? await Promise.race([
          injected,
          new Promise<never>((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          }),
        ])
      : await injected;
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
    }
    const body = NULL_BODY_STATUSES.has(answer.statusCode) ? null : answer.rawPayload;
    return new Response(body, { status: answer.statusCode, headers });
  };
}

export const mcpRoutes: FastifyPluginAsyncZod<McpRoutesOptions> = async (app, options) => {
  const fetch = inProcessFetch(app);

  app.post(
    '/mcp',
    {
      schema: {
        operationId: 'postMcpMessage',
        // The body is parsed as JSON before MCP sees it (MCP's own SDK validates the message itself).
        errorCodes: ['invalid_json', 'payload_too_large', 'unsupported_media_type'],
        summary: 'Model Context Protocol (streamable HTTP, stateless)',
        description:
          'JSON-RPC messages of MCP: tools run_code, create_session, close_session, list_runtimes. ' +
          'Authorization: Bearer <intent token>, checked like REST.',
        response: {
          200: {
            description: 'The JSON-RPC response, as JSON or as an event stream (by the Accept header).',
            content: {
              'application/json': { schema: McpMessage },
              'text/event-stream': { schema: z.string() },
            },
          },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      await options.authenticate(request.headers);
      const header = request.headers.authorization;
      const token = bearerToken(typeof header === 'string' ? header : undefined);
      reply.hijack();
      try {
        await serveMcpHttpRequest(request.raw, reply.raw, request.body, {
          airlock: { baseUrl: IN_PROCESS_URL, token, fetch },
          catalog: options.catalog(),
          onError: (err) => request.log.error({ err }, 'MCP tool call failed'),
        });
      } catch (err) {
        request.log.error({ err }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' });
          reply.raw.end(JSON.stringify(new AirlockError('internal_error').toBody()));
        }
      }
    },
  );

  const methodNotAllowed = async (
    request: { headers: Record<string, unknown> },
    reply: { header(name: string, value: string): unknown },
  ) => {
    await options.authenticate(request.headers);
    reply.header('allow', 'POST');
    throw new AirlockError(
      'method_not_allowed',
      'this MCP endpoint is stateless: POST JSON-RPC messages; there is no event stream or session to end',
    );
  };
  app.get('/mcp', { schema: { hide: true } }, methodNotAllowed);
  app.delete('/mcp', { schema: { hide: true } }, methodNotAllowed);
};
