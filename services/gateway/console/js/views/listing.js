// A listing page of the API (`{data, next}` with `?limit=&cursor=`) as a table with filters, kept live: it
// follows the lifecycle events feed (GET /v1/events/stream) and reloads on each event, or polls when the
// feed is not served. A listing the server does not serve (404) is said so plainly.

import { ApiError, api, follow } from '../api.js';
import { el, notice, replace } from '../dom.js';

const PAGE = 50;
const POLL_MS = 3000;

/**
 * Mounts a listing in `root`. `filters`: [{name, label, values}] as selects; `columns`: [{label, cell(row)}];
 * `emptyText` when nothing matches. Returns a function that stops it.
 */
export function mountListing(root, { path, title, filters, columns, emptyText, extra }) {
  const stop = new AbortController();
  const state = Object.fromEntries(filters.map((f) => [f.name, '']));
  const status = el('div', { class: 'listing-status' });
  const body = el('tbody');
  const more = el(
    'button',
    { attrs: { type: 'button' }, on: { click: () => load(next, true) } },
    'Load more',
  );
  more.hidden = true;
  let next = null;
  let loading = false;

  const form = el(
    'form',
    { class: 'filters', on: { submit: (event) => event.preventDefault() } },
    filters.map((f) =>
      el(
        'label',
        {},
        `${f.label} `,
        el(
          'select',
          {
            attrs: { name: f.name },
            on: {
              change: (event) => {
                state[f.name] = event.target.value;
                load(null, false);
              },
            },
          },
          el('option', { attrs: { value: '' } }, 'any'),
          f.values.map((v) => el('option', { attrs: { value: v } }, v)),
        ),
      ),
    ),
    extra ?? null,
  );
  const table = el(
    'table',
    { class: 'listing', data: { listing: path } },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        columns.map((c) => el('th', {}, c.label)),
      ),
    ),
    body,
  );
  replace(root, el('h2', {}, title), form, status, table, more);

  async function load(cursor, appending) {
    if (loading) return;
    loading = true;
    const query = new URLSearchParams({ limit: String(PAGE) });
    for (const [name, value] of Object.entries(state)) if (value) query.set(name, value);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api(`${path}?${query}`, { signal: stop.signal });
      const rows = page.data.map((row) =>
        el(
          'tr',
          { data: { id: row.id } },
          columns.map((c) => el('td', {}, c.cell(row))),
        ),
      );
      if (appending) body.append(...rows);
      else replace(body, rows);
      if (!appending && rows.length === 0)
        replace(body, el('tr', {}, el('td', { attrs: { colspan: columns.length } }, emptyText)));
      next = page.next ?? null;
      more.hidden = next === null;
      replace(status);
      table.hidden = false;
    } catch (error) {
      if (stop.signal.aborted) return;
      table.hidden = error instanceof ApiError && error.status === 404;
      more.hidden = true;
      replace(
        status,
        error instanceof ApiError && error.status === 404
          ? notice(
              'warn',
              `Listing not available: this server does not serve ${path} (404). Open an item by its id instead.`,
            )
          : notice('error', `Could not list: ${error.message}`),
      );
    } finally {
      loading = false;
    }
  }

  let reloadTimer;
  const reloadSoon = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => load(null, false), 250);
  };
  let pollTimer;
  follow('/v1/events/stream', reloadSoon, stop.signal).catch(() => {
    if (!stop.signal.aborted) pollTimer = setInterval(() => load(null, false), POLL_MS);
  });
  load(null, false);
  return () => {
    stop.abort();
    clearTimeout(reloadTimer);
    clearInterval(pollTimer);
  };
}
