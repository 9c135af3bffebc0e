// Builds the REST gateway from its dependencies. Starts nothing and reads no environment: main.ts does that.

import type { Logger } from '@airlock/logging';
import type { ToolCatalog } from '@airlock/mcp';
import {
  AirlockError,
  duplicateKeyError,
  findDuplicateKey,
  jsonSyntaxError,
  type ResolvedLimits,
  requestSchemasWithin,
  type Template,
  type Worker,
} from '@airlock/protocol';
import type { JobQueue } from '@airlock/queue';
import type { Authorizer, Sessions, SessionsApi } from '@airlock/sessions';
import type { LifecycleEventLog, LifecycleEvents } from '@airlock/store';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { installErrorHandlers, refuseWhileClosing, sendError, toAirlockError } from './error-handler.ts';
import { closeIdleAfterReading, KEEP_ALIVE_TIMEOUT_MS } from './keep-alive.ts';
import type { GatewayMetrics } from './metrics.ts';
import { registerOpenApi } from './openapi/document.ts';
import type { Readiness } from './readiness.ts';
import { validatorCompiler } from './request-validation.ts';
import { RouteMethods } from './route-methods.ts';
import { consoleRoutes } from './routes/console.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { eventRoutes } from './routes/events.ts';
import { executionRoutes } from './routes/executions.ts';
import { lifecycleEventRoutes } from './routes/lifecycle-events.ts';
import { type ListingRoutesOptions, listingRoutes } from './routes/listing.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { type ExecutionAuditReader, operatorRoutes } from './routes/operator.ts';
import { sessionFileRoutes } from './routes/session-files.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { systemRoutes } from './routes/system.ts';
import type { ExecutionSubmitter } from './submission.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

export interface GatewayDeps {
  logger: Logger;
  queue: JobQueue;
  submitter: ExecutionSubmitter;
  metrics: GatewayMetrics;
  authorizer: Authorizer;
  /** Without sessions, /v1/sessions is not served. */
  sessions?: Sessions;
  /** NATS mode: the session routes forwarded to the workers that host the sessions (instead of `sessions`). */
  forwardedSessions?: SessionsApi;
  /** Listing executions (and sessions) with sealed cursors; without it, neither list is served. */
  listing?: Omit<ListingRoutesOptions, 'authenticate'> & {
    /** The lifecycle event feed; without it, /v1/events is not served. */
    feed?: { log: LifecycleEventLog; events: LifecycleEvents };
  };
  /** Without webhooks, the delivery logs are not served (and callbacks are refused). */
  webhooks?: Webhooks;
  runtimes: () => unknown[];
  /** GET /v1/templates. @default none */
  templates?: () => Template[];
  ready: () => Readiness;
  limits: {
    bodyLimitBytes: number;
    maxWaitSeconds: number;
    maxWatchers: number;
    /** The server's defaults of a run's limits. */
    defaults: ResolvedLimits;
    /** The server's ceilings of a run's limits: the maxima of the request schemas. */
    ceilings: ResolvedLimits;
    /** The server's ceilings of a session's idle and lifetime seconds, shown in the OpenAPI document. */
    sessionCeilings?: { idleSeconds: number; lifetimeSeconds: number };
  };
  version: string;
  /** This gateway's audit log, read for an execution's audit records in the operator console. */
  auditLogPath?: string;
  /** Where the console reads an execution's audit records instead (NATS: the audit stream). @default the file */
  auditRecords?: ExecutionAuditReader;
  /** GET /v1/workers: the workers up now. @default none */
  workers?: () => Promise<Worker[]>;
  /** GET /v1/stats counts executions and warm pools from the workers' heartbeats (NATS). @default false */
  fleetStats?: boolean;
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const errorContext = {
    bodyLimitBytes: deps.limits.bodyLimitBytes,
  };
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.limits.bodyLimitBytes,
    requestTimeout: 30_000,
    connectionTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // refuseWhileClosing answers with the table's shutting_down instead of Fastify's own 503 body.
    return503OnClosing: false,
    // Router-level failures (bad URL encoding, over-long path parameter) get the same coded body as the rest.
    frameworkErrors: (error, _request, reply) =>
      sendError(
        reply,
        toAirlockError(error, errorContext) ??
          new AirlockError('invalid_request', 'the request URL is malformed'),
      ),
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();
  app.server.headersTimeout = 10_000;
  closeIdleAfterReading(app.server);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes = new RouteMethods();
  routes.learnFrom(app);
  installErrorHandlers(app, routes, errorContext);
  refuseWhileClosing(app);
  const schemas = requestSchemasWithin(deps.limits.ceilings);
  // JSON only: without this Fastify would hand text/plain bodies to the schema as strings.
  app.removeContentTypeParser('text/plain');
  refuseDuplicateKeys(app);

  await registerOpenApi(app, {
    version: deps.version,
    mode: deps.authorizer.mode,
    bodyLimitBytes: deps.limits.bodyLimitBytes,
    requestSchemas: schemas,
    ...(deps.limits.sessionCeilings ? { sessionCeilings: deps.limits.sessionCeilings } : {}),
  });

  const served = deps.sessions ?? deps.forwardedSessions;
  if (served) {
    await app.register(sessionRoutes, { sessions: served, schemas });
    await app.register(sessionFileRoutes, { sessions: served });
    await app.register(snapshotRoutes, { snapshots: served.snapshots });
  }
  await app.register(executionRoutes, {
    queue: deps.queue,
    submitter: deps.submitter,
    authenticate: (headers) => deps.authorizer.authenticate(headers),
    maxWaitSeconds: deps.limits.maxWaitSeconds,
    schemas,
  });
  if (deps.webhooks) {
    await app.register(deliveryRoutes, {
      queue: deps.queue,
      ...(served ? { sessions: served } : {}),
      webhooks: deps.webhooks,
      authenticate: (headers) => deps.authorizer.authenticate(headers),
    });
  }
  await app.register(eventRoutes, {
    queue: deps.queue,
    ...(deps.sessions ? { cells: deps.sessions } : {}),
    authenticate: (headers) => deps.authorizer.authenticate(headers),
    maxWatchers: deps.limits.maxWatchers,
  });
  if (deps.listing) {
    const { feed, ...listing } = deps.listing;
    const authenticate: Authorizer['authenticate'] = (headers) => deps.authorizer.authenticate(headers);
    await app.register(listingRoutes, { ...listing, authenticate });
    if (feed) {
      await app.register(lifecycleEventRoutes, {
        authenticate,
        cursors: listing.cursors,
        log: feed.log,
        events: feed.events,
        maxStreams: deps.limits.maxWatchers,
      });
    }
  }
  const limits = { defaults: deps.limits.defaults, ceilings: deps.limits.ceilings };
  const templates = deps.templates ?? (() => []);
  await app.register(systemRoutes, {
    runtimes: deps.runtimes,
    templates,
    ready: deps.ready,
    metrics: deps.metrics,
    limits,
  });
  await app.register(operatorRoutes, {
    queue: deps.queue,
    authorizer: deps.authorizer,
    metrics: deps.metrics,
    auditLogPath: deps.auditLogPath,
    ...(deps.auditRecords ? { auditRecords: deps.auditRecords } : {}),
    workers: deps.workers ?? (async () => []),
    fleetStats: deps.fleetStats ?? false,
  });
  await app.register(consoleRoutes);
  await app.register(mcpRoutes, {
    authenticate: (headers) => deps.authorizer.authenticate(headers),
    catalog: (): ToolCatalog => ({
      runtimes: deps.runtimes() as ToolCatalog['runtimes'],
      limits,
      templates: templates(),
    }),
  });
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
      if (error) return done(jsonBodyError(text, error), undefined);
      const duplicate = findDuplicateKey(text);
      if (duplicate !== undefined) return done(duplicateKeyError(duplicate), undefined);
      done(null, value);
    });
  });
}

/** Fastify's parser refused the text: where the JSON broke (or that it is empty), else the poisoning refusal. */
function jsonBodyError(text: string, error: Error): Error {
  try {
    JSON.parse(text);
  } catch (syntax) {
    return jsonSyntaxError(text, syntax);
  }
  if ((error as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AirlockError(
      'invalid_json',
      'the request body has a "__proto__" or "constructor.prototype" key, which is refused',
    );
  }
  return error;
}
