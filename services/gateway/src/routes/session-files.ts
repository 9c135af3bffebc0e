// /v1/sessions/:id/files: move files in and out of an open session's working folder. PUT takes the raw body
// (any content type, at most the server's file bound), GET answers the raw bytes (application/octet-stream,
// with the sha256 in `x-content-sha256`), GET without a path lists a folder (`?path=dir`), DELETE removes one
// file, link or empty folder. Paths follow the request `files` rule; links are never followed.

import { SessionFileListing, StoredSessionFile } from '@airlock/protocol';
import type { SessionsApi } from '@airlock/sessions';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '../openapi-schemas.ts';

export interface SessionFileRoutesOptions {
  sessions: SessionsApi;
}

const FileParams = z.object({
  id: z.string(),
  '*': z.string().describe('the file path under /work, e.g. data/input.csv (in the document: `path`)'),
});
export const sessionFileRoutes: FastifyPluginAsyncZod<SessionFileRoutesOptions> = async (app, options) => {
  const access = options.sessions.files;
  // Uploads are raw bytes whatever their content type (in this plugin's routes only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.put(
    '/v1/sessions/:id/files/*',
    {
      bodyLimit: access.maxFileBytes,
      schema: {
        operationId: 'putSessionFile',
        summary: "Write a file into a session's working folder",
        description:
          'The raw request body becomes the file (folders on the way are created). Answers 201 with its path, ' +
          'size and sha256. 413 above the server bound (AIRLOCK_SESSION_FILE_BYTES), 422 `file_not_regular` ' +
          'when the path is or passes through a link or names a folder.',
        params: FileParams,
        response: { 201: StoredSessionFile, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const stored = await access.put(request.headers, request.params.id, request.params['*'], body);
      return reply.code(201).send(stored);
    },
  );

  app.get(
    '/v1/sessions/:id/files/*',
    {
      schema: {
        operationId: 'getSessionFile',
        summary: "Read a file of a session's working folder",
        description: 'Answers the raw bytes; `x-content-sha256` carries their sha256.',
        params: FileParams,
        response: {
          200: z.any().describe('the raw bytes of the file (application/octet-stream)'),
          '4xx': ErrorResponse,
          '5xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { file, content } = await access.get(request.headers, request.params.id, request.params['*']);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('x-content-sha256', file.sha256)
        .send(content);
    },
  );

  app.get(
    '/v1/sessions/:id/files',
    {
      schema: {
        operationId: 'listSessionFiles',
        summary: "List a folder of a session's working folder",
        description: 'Entries with type, size and mtime; links are listed as links, never followed.',
        params: z.object({ id: z.string() }),
        querystring: z.object({ path: z.string().max(1024).optional() }).strict(),
        response: { 200: SessionFileListing, '4xx': ErrorResponse, '5xx': ErrorResponse },
      },
    },
    async (request) => access.list(request.headers, request.params.id, request.query.path),
  );

  app.delete(
    '/v1/sessions/:id/files/*',
    {
      schema: {
        operationId: 'deleteSessionFile',
        summary: "Delete a file of a session's working folder",
        description: 'Removes a file, a link (never what it points to) or an empty folder.',
        params: FileParams,
        response: {
          200: z.object({ path: z.string(), deleted: z.literal(true) }),
          '4xx': ErrorResponse,
          '5xx': ErrorResponse,
        },
      },
    },
    async (request) => access.remove(request.headers, request.params.id, request.params['*']),
  );
};
