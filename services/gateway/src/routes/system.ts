// Runtimes, templates, health, readiness and metrics. Health, readiness and metrics are for probes and
// Prometheus, not for API clients: the OpenAPI document leaves them out (the README documents them).

import { BackendName, Language, type LimitPolicy, Template } from '@airlock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayMetrics } from '../metrics.ts';
import { type Runtime, RuntimeList } from '../openapi-schemas.ts';
import type { Readiness } from '../readiness.ts';

export interface SystemRoutesOptions {
  runtimes: () => unknown[];
  /** The templates of this process's container backends (none in NATS mode's gateway). */
  templates: () => Template[];
  ready: () => Readiness;
  metrics: GatewayMetrics;
  /** The server's limit defaults and ceilings, shown beside the runtimes. */
  limits: LimitPolicy;
}

const RuntimeFilter = z.object({ language: Language.optional(), backend: BackendName.optional() }).strict();

export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, options) => {
  app.get(
    '/v1/runtimes',
    {
      schema: {
        operationId: 'listRuntimes',
        summary: 'Languages and backends this server can run',
        description:
          'Every language × backend this server is configured for, with its version, and why one is unavailable. ' +
          '`?language=` and `?backend=` narrow the list. Also the limit defaults and ceilings: a request may ask up ' +
          'to the ceilings; a tenant policy or an intent token may lower them. Needs no credential.',
        security: [],
        querystring: RuntimeFilter,
        response: { 200: RuntimeList },
      },
    },
    async (request) => {
      const { language, backend } = request.query;
      const runtimes = (options.runtimes() as z.infer<typeof Runtime>[]).filter(
        (runtime) =>
          (language === undefined || runtime.language === language) &&
          (backend === undefined || runtime.backend === backend),
      );
      return { runtimes, limits: { defaults: options.limits.defaults, ceilings: options.limits.ceilings } };
    },
  );
  app.get(
    '/v1/templates',
    {
      schema: {
        operationId: 'listTemplates',
        summary: 'Templates (environments) this server has',
        description:
          'Every template: the languages it serves, its packages with versions, image size and hash, its state ' +
          '(ready, building, missing, failed) and why it is not ready. `?language=` narrows the list. A request ' +
          'names one with `template`. ' +
          'Needs no credential.',
        security: [],
        querystring: z.object({ language: Language.optional() }).strict(),
        response: { 200: z.object({ templates: z.array(Template) }) },
      },
    },
    async (request) => {
      const { language } = request.query;
      const templates = options
        .templates()
        .filter((t) => language === undefined || t.languages.includes(language));
      return { templates };
    },
  );
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', hide: true, response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: started, not shutting down, and the audit log can be written',
        hide: true,
        response: {
          200: z.object({ status: z.literal('ready') }),
          503: z.object({ status: z.literal('not_ready'), reason: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      const readiness = options.ready();
      if (readiness.ready) return { status: 'ready' as const };
      return reply.code(503).send({ status: 'not_ready' as const, reason: readiness.reason });
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });
};
