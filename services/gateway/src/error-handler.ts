// Maps every failure to the coded error body of the shared table. Fastify's own errors (bad JSON, body too large,
// wrong media type) and schema validation failures become 4xx that say what to change: every invalid field at
// once, where the JSON broke, the body limit; a known route asked with the wrong method is a 405 with Allow;
// while the server shuts down every request gets `shutting_down`. Anything else is a logged 500 whose message
// never leaks internals.

import { AirlockError, type ErrorBody } from '@airlock/protocol';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { RequestValidationFailure } from './request-validation.ts';
import type { RouteMethods } from './route-methods.ts';

const FASTIFY_CODES: Record<string, AirlockError['code']> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

export interface ErrorContext {
  /** The body limit, stated in a 413. */
  bodyLimitBytes: number;
}

/** The 413 of a body over the limit; the one wording for REST and NATS. */
export function payloadTooLarge(bodyLimitBytes: number): AirlockError {
  return new AirlockError(
    'payload_too_large',
    `the request body is larger than this server's limit of ${bodyLimitBytes} bytes (AIRLOCK_BODY_LIMIT_BYTES); ` +
      'send large inputs as fewer or smaller files',
  );
}

export function toAirlockError(error: unknown, context: ErrorContext): AirlockError | undefined {
  if (error instanceof AirlockError) return error;
  if (error instanceof RequestValidationFailure) return error.toAirlockError();
  const code = (error as Partial<FastifyError>)?.code;
  const status = (error as Partial<FastifyError>)?.statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return payloadTooLarge(context.bodyLimitBytes);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_TYPE' || status === 415) {
    return new AirlockError(
      'unsupported_media_type',
      'the request body must be JSON, sent with Content-Type: application/json',
    );
  }
  if (code && FASTIFY_CODES[code]) return new AirlockError(FASTIFY_CODES[code]);
  if (status === 414) return new AirlockError('uri_too_long');
  if (status === 431) return new AirlockError('header_too_large');
  if (status === 400) return new AirlockError('invalid_request', 'the request is malformed');
  return undefined;
}

export function sendError(reply: FastifyReply, error: AirlockError): FastifyReply {
  if (error.retryAfter !== undefined) void reply.header('retry-after', String(error.retryAfter));
  const body: ErrorBody = error.toBody();
  return reply.code(error.status).type('application/json').send(body);
}

export function installErrorHandlers(
  app: FastifyInstance,
  routes: RouteMethods,
  context: ErrorContext,
): void {
  app.setErrorHandler((error, request, reply) => {
    const coded = toAirlockError(error, context);
    if (coded) {
      if (coded.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendError(reply, coded);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, new AirlockError('internal_error'));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.allowed(path);
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    if (allowed.length === 0) {
      return sendError(reply, new AirlockError('not_found', `no route ${request.method} ${path}`));
    }
    void reply.header('allow', allowed.join(', '));
    return sendError(
      reply,
      new AirlockError(
        'method_not_allowed',
        `${path} does not accept ${request.method}; use ${allowed.join(', ')}`,
      ),
    );
  });
}

/**
 * From the moment the server starts closing, every request (also one on a kept-alive connection) is answered
 * `shutting_down` with the table's body and `Connection: close`, instead of Fastify's own 503.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    return sendError(reply, new AirlockError('shutting_down'));
  });
}
