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
  metrics: z.array(Metric),
});
export type ServiceStats = z.infer<typeof ServiceStats>;

export async function serviceStats(registry: Registry, mode: 'local' | 'token'): Promise<ServiceStats> {
  const all = await registry.getMetricsAsJSON();
  return {
    at: new Date().toISOString(),
    mode,
    metrics: all
      .filter((metric) => !PROCESS_METRICS.test(metric.name))
      .map((metric) => ({
        name: metric.name,
        type: String(metric.type),
        help: metric.help,
        samples: metric.values.map((sample: { metricName?: string; labels: object; value: number }) => ({
          name: sample.metricName ?? metric.name,
          labels: { ...(sample.labels as Record<string, string | number>) },
          value: sample.value,
        })),
      })),
  };
}
