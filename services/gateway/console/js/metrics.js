// The service's figures over time, from GET /v1/stats polled while the console is open: a bounded history of
// snapshots and the series the charts draw from it (latency percentiles per backend as Prometheus's
// histogram_quantile computes them, throughput per backend, warm-pool hit rate), each over a sliding window.
// On NATS the figures are the workers' (a `worker` label on each sample): each series sums its workers'
// increases, and a worker that restarts or leaves never makes a figure go negative.

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

/** One series' identity: its sample name and labels. */
function seriesKey(sample) {
  return JSON.stringify([sample.name, Object.entries(sample.labels).sort(([x], [y]) => (x < y ? -1 : 1))]);
}

/**
 * How much the series of `name` matching `match` grew from snapshot `a` to `b`, summed, as Prometheus's
 * increase() counts: a series that went down restarted (a worker that restarted) and counts from zero, one
 * that is gone from `b` (a worker that left) adds nothing, one new in `b` counts from zero.
 */
export function increase(a, b, name, match = {}) {
  const before = new Map(samples(a, name, match).map((s) => [seriesKey(s), s.value]));
  let sum = 0;
  for (const sample of samples(b, name, match)) {
    const prev = before.get(seriesKey(sample)) ?? 0;
    sum += sample.value >= prev ? sample.value - prev : sample.value;
  }
  return sum;
}

const DURATION = 'airlock_execution_duration_seconds';

/** The buckets of total latency on `backend` that filled from `a` to `b` (summed over workers on NATS). */
function bucketIncrease(a, b, backend) {
  const name = `${DURATION}_bucket`;
  const bounds = new Set(samples(b, name, { phase: 'total', backend }).map((s) => String(s.labels.le)));
  return [...bounds].map((le) => ({
    le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le),
    count: increase(a, b, name, { phase: 'total', backend, le }),
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
  const styles = [];
  for (const [colour, backend] of names.entries()) {
    for (const [dash, q] of quantiles.entries()) {
      labels.push(`${backend} p${Math.round(q * 100)}`);
      styles.push({ colour, dash });
      data.push(
        pairs.map(([a, b]) => {
          const value = quantile(q, bucketIncrease(a.stats, b.stats, backend));
          return value === null ? null : value * 1000;
        }),
      );
    }
  }
  return { labels, data, styles };
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
        return increase(a.stats, b.stats, 'airlock_executions_total', { backend }) / seconds;
      }),
    );
  }
  return { labels: names, data };
}

/**
 * [times, one series per warm pool that was leased from] of the share served warm over the window (0–100 %);
 * on NATS one per worker × pool (the samples carry a `worker` label).
 */
export function hitRateSeries() {
  const pairs = windowPairs();
  const leases = 'airlock_warm_pool_leases_total';
  const pools = new Map();
  for (const sample of samples(latest(), leases)) {
    const match = { pool: String(sample.labels.pool) };
    if (sample.labels.worker !== undefined) match.worker = String(sample.labels.worker);
    const key = JSON.stringify(match);
    const entry = pools.get(key) ?? { match, leased: 0 };
    entry.leased += sample.value;
    pools.set(key, entry);
  }
  const leased = [...pools.values()]
    .filter((p) => p.leased > 0)
    .sort((x, y) => (JSON.stringify(x.match) < JSON.stringify(y.match) ? -1 : 1));
  const data = [pairs.map(([, b]) => b.t)];
  for (const { match } of leased) {
    data.push(
      pairs.map(([a, b]) => {
        const hits = increase(a.stats, b.stats, leases, { ...match, result: 'hit' });
        const misses = increase(a.stats, b.stats, leases, { ...match, result: 'miss' });
        return hits + misses > 0 ? (100 * hits) / (hits + misses) : null;
      }),
    );
  }
  const labels = leased.map(({ match }) => (match.worker ? `${match.pool} on ${match.worker}` : match.pool));
  return { labels, data };
}
