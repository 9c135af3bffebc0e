// Builds the REST gateway from its dependencies. Starts nothing and reads no environment: main.ts does that.

import type { Logger } from '@airlock/logging';
import { AirlockError, duplicateKeyError, findDuplicateKey } from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Authorizer } from './authorizer.ts';
import { installErrorHandlers, sendError, toAirlockError } from './error-handler.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Readiness } from './readiness.ts';
import { eventRoutes } from './routes/events.ts';
import { executionRoutes } from './routes/executions.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { sessionFileRoutes } from './routes/session-files.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { systemRoutes } from './routes/system.ts';
import type { Sessions } from './sessions/sessions.ts';
import type { ExecutionSubmitter } from './submission.ts';

export interface GatewayDeps {
  logger: Logger;
  queue: JobQueue;
  submitter: ExecutionSubmitter;
  metrics: GatewayMetrics;
  authorizer: Authorizer;
  /** Without sessions, /v1/sessions is not served. */
  sessions?: Sessions;
  runtimes: () => unknown[];
  ready: () => Readiness;
  limits: {
    bodyLimitBytes: number;
    maxWaitSeconds: number;
    maxWatchers: number;
  };
  version: string;
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.limits.bodyLimitBytes,
    requestTimeout: 30_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    // Router-level failures (bad URL encoding, over-long path parameter) get the same coded body as the rest.
    frameworkErrors: (error, _request, reply) =>
      sendError(
        reply,
        toAirlockError(error) ?? new AirlockError('invalid_request', 'the request URL is malformed'),
      ),
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();
  app.server.headersTimeout = 10_000;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  // JSON only: without this Fastify would hand text/plain bodies to the schema as strings.
  app.removeContentTypeParser('text/plain');
  refuseDuplicateKeys(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Airlock',
        description:
          'Sandboxed code execution for AI agents. Every error has the shape {error:{code,message,field?}}.',
        version: deps.version,
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  if (deps.sessions) {
    await app.register(sessionRoutes, { sessions: deps.sessions });
    await app.register(sessionFileRoutes, { sessions: deps.sessions });
  }
  await app.register(executionRoutes, {
    queue: deps.queue,
    submitter: deps.submitter,
    authenticate: (headers) => deps.authorizer.authenticate(headers),
    maxWaitSeconds: deps.limits.maxWaitSeconds,
  });
  await app.register(eventRoutes, {
    queue: deps.queue,
    ...(deps.sessions ? { cells: deps.sessions } : {}),
    authenticate: (headers) => deps.authorizer.authenticate(headers),
    maxWatchers: deps.limits.maxWatchers,
  });
  await app.register(systemRoutes, { runtimes: deps.runtimes, ready: deps.ready, metrics: deps.metrics });
  await app.register(mcpRoutes, { authenticate: (headers) => deps.authorizer.authenticate(headers) });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * Fastify's own JSON parser (with its prototype-poisoning checks), then a refusal of any object that repeats a
 * key: the same rule as the NATS surface (`parseJsonBody`), and MCP over HTTP is served from these bodies too.
 */
function refuseDuplicateKeys(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parseJson(request, text, (error: Error | null, value?: unknown) => {
      if (error) return done(error, undefined);
      const duplicate = findDuplicateKey(text);
      if (duplicate !== undefined) return done(duplicateKeyError(duplicate), undefined);
      done(null, value);
    });
  });
}
