// The workers page: every worker up now (GET /v1/workers, polled every 2 s) with its host, backends, running
// executions against its capacity, warm pools, templates, when it was last heard from and how long it has been
// up, and whether it is draining (told to stop, finishing its running jobs); then the warm pools of them all.

import { badge, el, notice, replace, table, visible } from '../dom.js';
import { drawPools, pollWorkers, span } from '../workers.js';

export function workersView(root) {
  const summary = el('div', { class: 'summary' });
  const list = el('div', { class: 'workers' });
  const pools = el('div', { class: 'pools' });
  replace(root, el('h2', {}, 'Workers'), summary, list, el('h3', {}, 'Warm pools'), pools);
  replace(summary, 'Reading…');
  return pollWorkers(
    (workers) => {
      const running = workers.reduce((sum, w) => sum + w.running, 0);
      const capacity = workers.reduce((sum, w) => sum + w.capacity, 0);
      const draining = workers.filter((w) => w.state === 'draining').length;
      replace(
        summary,
        el(
          'p',
          { class: 'muted' },
          `${workers.length} ${workers.length === 1 ? 'worker' : 'workers'} up` +
            (draining > 0 ? ` (${draining} draining)` : '') +
            `, running ${running} of ${capacity} executions at once. A worker that is told to stop shows ` +
            'draining while it finishes its running jobs, then leaves this list; one that dies leaves it ' +
            'when its heartbeat is older than its TTL.',
        ),
      );
      replace(
        list,
        workers.length === 0 ? el('p', { class: 'muted' }, 'No worker is up.') : workerTable(workers),
      );
      drawPools(pools, workers);
    },
    (error) => replace(summary, notice('error', `Could not read the workers: ${error.message}`)),
  );
}

function workerTable(workers) {
  const now = Date.now();
  const rows = workers.map((w) => [
    el('code', {}, visible(w.id)),
    stateBadge(w.state),
    el('span', {}, visible(w.host), el('span', { class: 'muted' }, ` pid ${w.pid} · v${visible(w.version)}`)),
    visible(w.backends.join(', ') || '—'),
    el('span', { class: 'load' }, meter(w.running, w.capacity), ` ${w.running} / ${w.capacity}`),
    poolSummary(w.pools),
    templateSummary(w.templates),
    `${span(now - Date.parse(w.last_seen))} ago`,
    span(now - Date.parse(w.started_at)),
  ]);
  const node = table(
    ['Worker', 'State', 'Host', 'Backends', 'Running', 'Pools', 'Templates', 'Last seen', 'Age'],
    rows,
  );
  node.querySelectorAll('tbody tr').forEach((tr, i) => {
    tr.dataset.worker = workers[i].id;
  });
  return node;
}

/** `running` (takes jobs) or `draining` (shutting down: finishes its running jobs, takes no new ones). */
function stateBadge(state) {
  if (state !== 'draining') return badge('running');
  return el('span', { attrs: { title: 'shutting down: finishing its running jobs' } }, badge('draining'));
}

/** Running against capacity as a bar (a <meter>: its value is a number, never markup). */
function meter(value, max) {
  return el('meter', { attrs: { min: 0, max, value, 'aria-label': 'running of capacity' } });
}

function poolSummary(pools) {
  if (pools.length === 0) return el('span', { class: 'muted' }, 'none');
  const ready = pools.reduce((sum, p) => sum + p.ready, 0);
  const target = pools.reduce((sum, p) => sum + p.target, 0);
  return `${pools.length} ${pools.length === 1 ? 'pool' : 'pools'}, ${ready} / ${target} warm`;
}

/** The templates by state: `6 ready`, and each one not ready with its state badge. */
function templateSummary(templates) {
  if (templates.length === 0) return el('span', { class: 'muted' }, 'none');
  const ready = templates.filter((t) => t.state === 'ready').length;
  const others = templates.filter((t) => t.state !== 'ready');
  return el(
    'span',
    {},
    ready > 0 ? `${ready} ready` : null,
    others.map((t) =>
      el(
        'span',
        { class: 'template', attrs: { title: visible(t.reason ?? '') } },
        ' ',
        visible(t.name),
        ' ',
        badge(t.state),
      ),
    ),
  );
}
