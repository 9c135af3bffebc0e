// The service's figures over time, from GET /v1/stats polled while the console is open: a bounded history of
// snapshots and the series the charts draw from it (latency percentiles per backend as Prometheus's
// histogram_quantile computes them, throughput per backend, warm-pool hit rate), each over a sliding window.

import { api } from './api.js';

/** Snapshots kept: 10 minutes at one every 2 s. */
const KEEP = 300;
/** Snapshots a rate or percentile looks back over (30 s at one every 2 s). */
const WINDOW = 15;
const POLL_MS = 2000;

const history = [];
const listeners = new Set();
let timer;
let lastError = null;

/** Starts polling (once); calls every listener after each snapshot or failure. */
export function startPolling() {
  if (timer !== undefined) return;
  const poll = async () => {
    try {
      const stats = await api('/v1/stats');
      history.push({ t: Date.parse(stats.at) / 1000, stats });
      if (history.length > KEEP) history.shift();
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    for (const listener of listeners) listener();
  };
  poll();
  timer = setInterval(poll, POLL_MS);
}

export function stopPolling() {
  clearInterval(timer);
  timer = undefined;
  history.length = 0;
}

export function onSnapshot(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const latest = () => history.at(-1)?.stats;
export const pollError = () => lastError;

/** The samples of `name` in `stats` whose labels include `match`. */
export function samples(stats, name, match = {}) {
  const out = [];
  for (const metric of stats?.metrics ?? []) {
    for (const sample of metric.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => String(sample.labels[k]) === v)) out.push(sample);
    }
  }
  return out;
}

/** The sum of the samples of `name` matching `match`. */
export function total(stats, name, match = {}) {
  return samples(stats, name, match).reduce((sum, s) => sum + s.value, 0);
}

/** Distinct values of label `label` among the samples of `name`. */
export function labelValues(stats, name, label) {
  return [...new Set(samples(stats, name).map((s) => String(s.labels[label])))]
    .filter((v) => v !== 'undefined')
    .sort();
}

/** The q-quantile of cumulative buckets [{le, count}], interpolated inside its bucket; null with no counts. */
export function quantile(q, buckets) {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const count = sorted.at(-1)?.count ?? 0;
  if (count <= 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lower;
      const inside = bucket.count - below;
      return inside <= 0 ? bucket.le : lower + (bucket.le - lower) * ((rank - below) / inside);
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

const DURATION = 'airlock_execution_duration_seconds';

function bucketsOf(stats, backend) {
  return samples(stats, `${DURATION}_bucket`, { phase: 'total', backend }).map((s) => ({
    le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le),
    count: s.value,
  }));
}

function windowPairs() {
  const out = [];
  for (let i = 1; i < history.length; i++) out.push([history[Math.max(0, i - WINDOW)], history[i]]);
  return out;
}

/** Backends seen in the duration histogram. */
export function backends() {
  return labelValues(latest(), `${DURATION}_bucket`, 'backend');
}

/** [times, ...one series per backend × quantile] of total latency in ms over the window; null where none ran. */
export function latencySeries(quantiles) {
  const pairs = windowPairs();
  const names = backends();
  const data = [pairs.map(([, b]) => b.t)];
  const labels = [];
  for (const backend of names) {
    for (const q of quantiles) {
      labels.push(`${backend} p${Math.round(q * 100)}`);
      data.push(
        pairs.map(([a, b]) => {
          const before = new Map(bucketsOf(a.stats, backend).map((x) => [x.le, x.count]));
          const delta = bucketsOf(b.stats, backend).map((x) => ({
            le: x.le,
            count: x.count - (before.get(x.le) ?? 0),
          }));
          const value = quantile(q, delta);
          return value === null ? null : value * 1000;
        }),
      );
    }
  }
  return { labels, data };
}

/** [times, one series per backend] of finished executions per second over the window. */
export function throughputSeries() {
  const pairs = windowPairs();
  const names = labelValues(latest(), 'airlock_executions_total', 'backend');
  const data = [pairs.map(([, b]) => b.t)];
  for (const backend of names) {
    data.push(
      pairs.map(([a, b]) => {
        const seconds = b.t - a.t;
        if (seconds <= 0) return null;
        const delta =
          total(b.stats, 'airlock_executions_total', { backend }) -
          total(a.stats, 'airlock_executions_total', { backend });
        return delta / seconds;
      }),
    );
  }
  return { labels: names, data };
}

/** [times, one series per warm pool] of the share of leases served warm over the window (0–100 %). */
export function hitRateSeries() {
  const pairs = windowPairs();
  const leases = 'airlock_warm_pool_leases_total';
  const pools = labelValues(latest(), leases, 'pool');
  const data = [pairs.map(([, b]) => b.t)];
  for (const pool of pools) {
    data.push(
      pairs.map(([a, b]) => {
        const hits =
          total(b.stats, leases, { pool, result: 'hit' }) - total(a.stats, leases, { pool, result: 'hit' });
        const misses =
          total(b.stats, leases, { pool, result: 'miss' }) - total(a.stats, leases, { pool, result: 'miss' });
        return hits + misses > 0 ? (100 * hits) / (hits + misses) : null;
      }),
    );
  }
  return { labels: pools, data };
}
