// Runtimes, health, readiness and metrics.

import { type LimitPolicy, ResolvedLimits } from '@airlock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayMetrics } from '../metrics.ts';
import type { Readiness } from '../readiness.ts';

export interface SystemRoutesOptions {
  runtimes: () => unknown[];
  ready: () => Readiness;
  metrics: GatewayMetrics;
  /** The server's limit defaults and ceilings, shown beside the runtimes. */
  limits: LimitPolicy;
}

const Runtime = z.object({
  language: z.string(),
  backend: z.string(),
  version: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
});

export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, options) => {
  app.get(
    '/v1/runtimes',
    {
      schema: {
        summary: 'Languages and backends this server can run, and its limit defaults and ceilings',
        description:
          'A request may ask for limits up to the ceilings; a tenant policy or an intent token may lower them.',
        response: {
          200: z.object({
            runtimes: z.array(Runtime),
            limits: z.object({ defaults: ResolvedLimits, ceilings: ResolvedLimits }),
          }),
        },
      },
    },
    async () => ({
      runtimes: options.runtimes() as z.infer<typeof Runtime>[],
      limits: { defaults: options.limits.defaults, ceilings: options.limits.ceilings },
    }),
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
