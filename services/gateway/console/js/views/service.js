// The service page: queue and running executions, warm pools (target, ready, hits, misses), refusals by code,
// the runtimes and templates this server offers, and charts of latency percentiles and throughput per backend and the pool
// hit rate over time. The figures come from GET /v1/stats (those of /metrics; on NATS the runs and pools are the
// workers', from their heartbeats), the warm pools from the workers that keep them (GET /v1/workers), both
// polled every 2 s.

import { api } from '../api.js';
import { LineChart } from '../charts.js';
import { badge, el, notice, replace, table, visible } from '../dom.js';
import {
  hitRateSeries,
  latencySeries,
  latest,
  onSnapshot,
  pollError,
  samples,
  throughputSeries,
  total,
} from '../metrics.js';
import { drawPools, pollWorkers } from '../workers.js';

const QUANTILES = [0.5, 0.95, 0.99];

export function serviceView(root) {
  const summary = el('div', { class: 'summary' });
  const pools = el('div', { class: 'pools' });
  const refusals = el('div', { class: 'refusals' });
  const runtimes = el('div', { class: 'runtimes' });
  const templates = el('div', { class: 'templates' });
  const charts = {
    latency: new LineChart('Latency per backend (submit to result, 30 s window)', 'ms'),
    throughput: new LineChart('Throughput per backend', 'runs/s'),
    hitRate: new LineChart('Warm-pool hit rate (leases served warm)', '%', [0, 100]),
  };
  replace(
    root,
    el('h2', {}, 'Service'),
    summary,
    el('section', { class: 'charts' }, charts.latency.node, charts.throughput.node, charts.hitRate.node),
    el('h3', {}, 'Warm pools'),
    pools,
    el('h3', {}, 'Refusals'),
    refusals,
    el('h3', {}, 'Runtimes'),
    runtimes,
    el('h3', {}, 'Templates'),
    templates,
  );
  const seen = new Map();

  const draw = () => {
    const stats = latest();
    const error = pollError();
    if (!stats) {
      replace(
        summary,
        error ? notice('error', `Could not read the statistics: ${error.message}`) : 'Reading…',
      );
      return;
    }
    replace(
      summary,
      error ? notice('error', `Statistics are stale: ${error.message}`) : null,
      el(
        'dl',
        { class: 'facts' },
        [
          ['Queued', total(stats, 'airlock_queue_depth')],
          ['Running', total(stats, 'airlock_executions_running')],
          ['Finished', total(stats, 'airlock_executions_total')],
          ['Refused', total(stats, 'airlock_rejections_total')],
          ['Audit log', writable(stats, 'airlock_audit_writable')],
          ['Store', writable(stats, 'airlock_store_writable')],
          ['Mode', stats.mode === 'local' ? 'local development (loopback only)' : 'intent tokens'],
          [
            'Runs counted by',
            stats.scope === 'fleet' ? "the workers' heartbeats (every gateway alike)" : 'this process',
          ],
        ].map(([label, value]) => el('div', {}, el('dt', {}, label), el('dd', {}, value))),
      ),
    );
    charts.latency.update(latencySeries(QUANTILES));
    charts.throughput.update(throughputSeries());
    charts.hitRate.update(hitRateSeries());
    drawRefusals(refusals, stats, seen);
  };
  const off = onSnapshot(draw);
  draw();
  const stopWorkers = pollWorkers(
    (workers) => drawPools(pools, workers),
    (error) => replace(pools, notice('error', `Could not read the workers: ${error.message}`)),
  );
  api('/v1/runtimes').then(
    ({ runtimes: list }) =>
      replace(
        runtimes,
        table(
          ['Language', 'Backend', 'Version', 'Available'],
          list.map((r) => [
            visible(r.language),
            visible(r.backend),
            visible(r.version),
            r.available
              ? badge('available')
              : el('span', {}, badge('unavailable'), ' ', visible(r.reason ?? '')),
          ]),
        ),
      ),
    (error) => replace(runtimes, notice('error', `Could not read the runtimes: ${error.message}`)),
  );
  api('/v1/templates').then(
    ({ templates: list }) => replace(templates, templateTable(list)),
    (error) => replace(templates, notice('error', `Could not read the templates: ${error.message}`)),
  );
  return () => {
    off();
    stopWorkers();
    for (const chart of Object.values(charts)) chart.destroy();
  };
}

/** The templates (environments): state and why one is not ready, languages, image size and key packages. */
function templateTable(list) {
  if (list.length === 0)
    return el(
      'p',
      { class: 'muted' },
      'No templates (no container backend here; on NATS, no live worker announces any: see Workers).',
    );
  return table(
    ['Template', 'State', 'Languages', 'Size', 'Packages', 'Hash'],
    list.map((t) => [
      el('code', {}, visible(t.name)),
      t.state === 'ready' ? badge('ready') : el('span', {}, badge(t.state), ' ', visible(t.reason ?? '')),
      visible(t.languages.join(', ')),
      t.size_bytes === null ? '—' : `${Math.round(t.size_bytes / 1_048_576)} MB`,
      visible(
        Object.entries(t.packages)
          .slice(0, 8)
          .map(([name, version]) => `${name} ${version}`)
          .join(', ') || '—',
      ),
      t.hash === null ? '—' : el('code', {}, visible(t.hash)),
    ]),
  );
}

function writable(stats, name) {
  const found = samples(stats, name);
  if (found.length === 0) return '—';
  return found[0].value === 1 ? badge('writable') : badge('unwritable');
}

/** Refusals by code, with when each code was last seen to grow while the console was open. */
function drawRefusals(root, stats, seen) {
  const rows = samples(stats, 'airlock_rejections_total').map((s) => {
    const code = String(s.labels.code);
    const before = seen.get(code);
    const last = before && s.value > before.value ? new Date() : (before?.last ?? null);
    seen.set(code, { value: s.value, last });
    return { code, count: s.value, last };
  });
  if (rows.length === 0) {
    replace(root, el('p', { class: 'muted' }, 'No submission has been refused since the service started.'));
    return;
  }
  rows.sort((a, b) => (b.last?.getTime() ?? 0) - (a.last?.getTime() ?? 0) || b.count - a.count);
  replace(
    root,
    table(
      ['Code', 'Refused', 'Last seen'],
      rows.map((r) => [
        badge(r.code),
        String(r.count),
        r.last ? r.last.toLocaleTimeString() : 'before this page opened',
      ]),
    ),
  );
}
