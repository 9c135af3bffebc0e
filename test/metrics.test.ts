// GET /metrics as Prometheus scrapes it: every metric name follows the Prometheus naming conventions
// (snake_case under the one `airlock_` prefix, no doubled prefix, `_total` on counters and only on them, base
// units as suffixes), and the gateway's own metrics are there with their types.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startService, type TestService } from './support/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
  // One execution and one refusal, so the labelled series exist.
  await call(svc.url, 'POST', '/v1/executions?wait=20', { language: 'javascript', code: '1' });
  await call(svc.url, 'POST', '/v1/executions', { language: 'javascript', code: '1', backend: 'docker' });
});
afterAll(async () => {
  await svc?.close();
});

interface Family {
  name: string;
  type: string;
  samples: string[];
}

async function scrape(): Promise<Family[]> {
  const response = await fetch(`${svc.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = new Map<string, Family>();
  for (const line of (await response.text()).split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, { name: type[1]!, type: type[2]!, samples: [] });
    else if (line !== '' && !line.startsWith('#')) {
      const sample = /^([^{ ]+)/.exec(line)![1]!;
      const family = [...families.values()].at(-1)!;
      family.samples.push(sample);
    }
  }
  return [...families.values()];
}

/** What is wrong with a metric's name under the Prometheus conventions, or null. */
function namingProblem({ name, type }: Family): string | null {
  if (!/^airlock_[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name)) return 'not snake_case under airlock_';
  const parts = name.split('_');
  if (parts.filter((p) => p === 'airlock').length !== 1)
    return 'the airlock prefix is not there exactly once';
  if (parts.some((p, i) => i > 0 && p === parts[i - 1])) return 'a doubled word (such as process_process)';
  if (type === 'counter' && !name.endsWith('_total')) return 'a counter must end with _total';
  if (type !== 'counter' && name.endsWith('_total')) return `a ${type} must not end with _total`;
  const base = name.replace(/_total$/, '');
  if (/_(ms|milliseconds|microseconds|minutes|hours|kb|mb|gb|kilobytes|megabytes|percent)$/.test(base))
    return 'a unit that is not a base unit';
  if (/(duration|latency|lag|_time)(_|$)/.test(base) && !base.endsWith('_seconds'))
    return 'a time without the _seconds suffix';
  if (/(memory|heap|size)(_|$)/.test(base) && !base.endsWith('_bytes'))
    return 'a size without the _bytes suffix';
  if ((type === 'histogram' || type === 'summary') && !/_(seconds|bytes)$/.test(base))
    return `a ${type} without a unit suffix`;
  if (name.endsWith('_info') && type !== 'gauge') return 'an _info metric must be a gauge';
  return null;
}

describe('GET /metrics', () => {
  it('names every metric by the Prometheus conventions', async () => {
    const families = await scrape();
    expect(families.length).toBeGreaterThan(20);
    const problems = families
      .map((family) => ({ name: family.name, problem: namingProblem(family) }))
      .filter((p) => p.problem !== null);
    expect(problems).toEqual([]);
    for (const family of families) {
      const allowed =
        family.type === 'histogram' || family.type === 'summary'
          ? [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`, family.name]
          : [family.name];
      for (const sample of family.samples) expect(allowed).toContain(sample);
    }
  });

  it('serves the gateway metrics and the process metrics under the plain airlock_ prefix', async () => {
    const types = Object.fromEntries((await scrape()).map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      airlock_queue_depth: 'gauge',
      airlock_executions_running: 'gauge',
      airlock_executions_total: 'counter',
      airlock_rejections_total: 'counter',
      airlock_execution_duration_seconds: 'histogram',
      airlock_audit_writable: 'gauge',
      airlock_process_cpu_seconds_total: 'counter',
      airlock_process_resident_memory_bytes: 'gauge',
      airlock_nodejs_eventloop_lag_seconds: 'gauge',
      airlock_nodejs_gc_duration_seconds: 'histogram',
    });
    expect(Object.keys(types).filter((name) => name.startsWith('airlock_process_process'))).toEqual([]);
    const text = await fetch(`${svc.url}/metrics`).then((r) => r.text());
    expect(text).toMatch(/^airlock_rejections_total\{code="backend_unavailable"\} 1$/m);
    expect(text).toMatch(/^airlock_audit_writable 1$/m);
  });
});
