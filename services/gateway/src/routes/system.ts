// Runtimes, templates, health, readiness and metrics.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayMetrics } from '../metrics.ts';
import type { Readiness } from '../readiness.ts';

export interface SystemRoutesOptions {
  runtimes: () => unknown[];
  /** The templates of this process's container backends (none in NATS mode's gateway). */
  templates: () => unknown[];
  ready: () => Readiness;
  metrics: GatewayMetrics;
}

const Runtime = z.object({
  language: z.string(),
  backend: z.string(),
  version: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
});

const Template = z.object({
  name: z.string(),
  description: z.string().nullable(),
  languages: z.array(z.string()),
  packages: z.record(z.string(), z.string()),
  size_bytes: z.number().nullable(),
  hash: z.string().nullable(),
  state: z.enum(['ready', 'building', 'failed', 'missing']),
  reason: z.string().nullable(),
  builtin: z.boolean(),
});

export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, options) => {
  app.get(
    '/v1/runtimes',
    {
      schema: {
        summary: 'Languages and backends this server can run',
        response: { 200: z.object({ runtimes: z.array(Runtime) }) },
      },
    },
    async () => ({ runtimes: options.runtimes() as z.infer<typeof Runtime>[] }),
  );
  app.get(
    '/v1/templates',
    {
      schema: {
        summary:
          'Templates (environments) this server has: languages, packages, size, hash, state and why not ready',
        response: { 200: z.object({ templates: z.array(Template) }) },
      },
    },
    async () => ({ templates: options.templates() as z.infer<typeof Template>[] }),
  );
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: started, not shutting down, and the audit log can be written',
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
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: false } }, async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });
};
