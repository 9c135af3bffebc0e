// The service's own metrics as JSON for the operator console's charts: the `airlock_` metrics of the registry
// /metrics serves (the process's default metrics left out), each with its samples. Same figures as /metrics,
// so what the console draws is what Prometheus would scrape.

import type { Registry } from 'prom-client';
import { z } from 'zod';

/** Node.js process metrics: /metrics has them; the console does not draw them. */
const PROCESS_METRICS = /^airlock_(process_|nodejs_)/;

export const MetricSample = z.object({
  /** The sample's own name: a histogram's `_bucket`, `_sum` and `_count` samples differ here. */
  name: z.string(),
  labels: z.record(z.string(), z.union([z.string(), z.number()])),
  value: z.number(),
});

export const Metric = z.object({
  name: z.string(),
  type: z.string(),
  help: z.string(),
  samples: z.array(MetricSample),
});

export const ServiceStats = z.object({
  /** When the figures were read (ISO 8601). */
  at: z.string(),
  /** `local` (development mode) or `token`. */
  mode: z.enum(['local', 'token']),
  /**
   * Whose executions and warm pools the figures count: `process` this gateway's own (embedded mode), `fleet`
   * the NATS workers', summed from their heartbeats (a `worker` label on each sample; every gateway answers alike).
   */
  scope: z.enum(['process', 'fleet']),
  metrics: z.array(Metric),
});
export type ServiceStats = z.infer<typeof ServiceStats>;

export type Metric = z.infer<typeof Metric>;

/**
 * The registry's `airlock_` metrics; with `fleet`, those of the same names replace this process's (scope
 * `fleet`), and the rest (queue, rejections, audit) stay this process's.
 */
export async function serviceStats(
  registry: Registry,
  mode: 'local' | 'token',
  fleet?: readonly Metric[],
): Promise<ServiceStats> {
  const all = await registry.getMetricsAsJSON();
  const replaced = new Set(fleet?.map((metric) => metric.name));
  return {
    at: new Date().toISOString(),
    mode,
    scope: fleet ? 'fleet' : 'process',
    metrics: all
      .filter((metric) => !PROCESS_METRICS.test(metric.name) && !replaced.has(metric.name))
      .map((metric) => ({
        name: metric.name,
        type: String(metric.type),
        help: metric.help,
        samples: metric.values.map((sample: { metricName?: string; labels: object; value: number }) => ({
          name: sample.metricName ?? metric.name,
          labels: { ...(sample.labels as Record<string, string | number>) },
          value: sample.value,
        })),
      }))
      .concat(fleet ?? []),
  };
}
