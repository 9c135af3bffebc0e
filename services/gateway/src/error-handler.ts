// Maps every failure to the coded error body of the shared table. Fastify's own errors (bad JSON, body too large,
// wrong media type) and schema validation failures become 4xx naming the field; anything else is a logged 500
// whose message never leaks internals.

import { AirlockError, type ErrorBody } from '@airlock/protocol';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

const FASTIFY_CODES: Record<string, AirlockError['code']> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** `/files/0/path` in the body → `files[0].path`; other parts are prefixed with where they were. */
function fieldName(context: string | undefined, instancePath: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  const path = parts
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
  if (context === 'body' || context === undefined) return path;
  const where = context === 'querystring' ? 'query' : context;
  return path ? `${where}.${path}` : where;
}

export function toAirlockError(error: unknown): AirlockError | undefined {
  if (error instanceof AirlockError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0]!;
    const field = fieldName((error as { validationContext?: string }).validationContext, first.instancePath);
    return new AirlockError('invalid_request', field ? `${field}: ${first.message}` : first.message, {
      field,
    });
  }
  const code = (error as Partial<FastifyError>)?.code;
  if (code && FASTIFY_CODES[code]) {
    const airlockCode = FASTIFY_CODES[code];
    return new AirlockError(airlockCode, undefined);
  }
  const status = (error as Partial<FastifyError>)?.statusCode;
  if (status === 413) return new AirlockError('payload_too_large');
  if (status === 414) return new AirlockError('uri_too_long');
  if (status === 415) return new AirlockError('unsupported_media_type');
  if (status === 431) return new AirlockError('header_too_large');
  if (status === 400) return new AirlockError('invalid_request', 'the request is malformed');
  return undefined;
}

export function sendError(reply: FastifyReply, error: AirlockError): FastifyReply {
  if (error.retryAfter !== undefined) void reply.header('retry-after', String(error.retryAfter));
  const body: ErrorBody = error.toBody();
  return reply.code(error.status).type('application/json').send(body);
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const coded = toAirlockError(error);
    if (coded) {
      if (coded.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(reply, coded);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, new AirlockError('internal_error'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new AirlockError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
