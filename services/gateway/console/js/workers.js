// The workers as GET /v1/workers answers them, polled every 2 s while a page that shows them is open, and the
// warm-pool table both the Workers and the Service pages draw from them (the pools live in the workers: on
// NATS a gateway has none of its own).

import { api } from './api.js';
import { el, replace, table, visible } from './dom.js';

const POLL_MS = 2000;

/**
 * Calls onWorkers(list) with every answer and onError(error) with every failure, now and every 2 s, until the
 * returned function is called.
 */
export function pollWorkers(onWorkers, onError) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      const { workers } = await api('/v1/workers');
      if (!stopped) onWorkers(workers);
    } catch (error) {
      if (!stopped) onError(error);
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The warm pools of every worker: one row per worker × pool. */
export function drawPools(root, workers) {
  const rows = workers.flatMap((w) => w.pools.map((pool) => ({ worker: w.id, ...pool })));
  if (rows.length === 0) {
    replace(
      root,
      el(
        'p',
        { class: 'muted' },
        workers.length === 0
          ? 'No worker is up, so there are no warm pools.'
          : 'No warm pools on the workers (no container backend, or pool size 0).',
      ),
    );
    return;
  }
  replace(
    root,
    table(
      ['Worker', 'Backend', 'Pool', 'Target', 'Ready', 'Hits', 'Misses', 'Hit rate'],
      rows.map((p) => [
        el('code', {}, visible(p.worker)),
        visible(p.backend),
        el('code', {}, visible(p.key)),
        String(p.target),
        String(p.ready),
        String(p.hits),
        String(p.misses),
        p.hits + p.misses > 0 ? `${Math.round((100 * p.hits) / (p.hits + p.misses))} %` : '—',
      ]),
    ),
  );
}

/** A span of time as the largest unit that fits: `42 s`, `5 min`, `3 h`, `2 d`. */
export function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
