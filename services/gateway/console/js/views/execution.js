// One execution: its state and result, its output live as it is produced (Server-Sent Events), its audit
// records and the egress records of its run. Output is hostile: it is appended as text with every control
// character made visible, never as markup and never interpreted as terminal colours.

import { ApiError, api, follow } from '../api.js';
import { badge, duration, el, notice, replace, table, time, visible, visibleNodes } from '../dom.js';

export function executionView(root, id) {
  const stop = new AbortController();
  const head = el('div', { class: 'execution-head' });
  const output = el('pre', { class: 'output', attrs: { 'aria-label': 'output' } });
  const live = el('span', { class: 'live' });
  const audit = el('div', { class: 'audit' }, el('p', { class: 'muted' }, 'Audit records appear here.'));
  const egress = el('div', { class: 'egress' });
  replace(
    root,
    el('p', {}, el('a', { attrs: { href: '#/executions' } }, '← Executions')),
    el('h2', {}, 'Execution ', el('code', {}, visible(id))),
    head,
    el('h3', {}, 'Output ', live),
    output,
    el('h3', {}, 'Egress'),
    egress,
    el('h3', {}, 'Audit records'),
    audit,
  );
  let chunks = 0;

  const render = (execution) => {
    const r = execution.result;
    replace(
      head,
      el(
        'dl',
        { class: 'facts' },
        fact('Status', badge(execution.status)),
        fact('Outcome', badge(r?.outcome ?? null)),
        fact('Language', visible(execution.language)),
        fact('Backend', visible(execution.backend)),
        fact('Tenant', visible(execution.tenant)),
        fact('Created', time(execution.created_at)),
        fact('Queued', duration(execution.created_at, execution.started_at)),
        fact('Ran', duration(execution.started_at, execution.finished_at)),
        fact('Exit code', r ? String(r.exit_code ?? '—') + (r.signal ? ` (${visible(r.signal)})` : '') : '—'),
        fact('Reason', r?.reason ? visible(r.reason) : '—'),
        fact(
          'Limits',
          visible(
            Object.entries(execution.limits ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ),
        ),
        fact(
          'Metadata',
          visible(
            Object.entries(execution.metadata ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || '—',
          ),
        ),
      ),
    );
    if (execution.status === 'finished') renderEgress(egress, r?.egress);
  };
  const write = (stream, text) => {
    chunks += 1;
    output.append(el('span', { class: `stream-${stream}` }, visibleNodes(text)));
  };

  (async () => {
    try {
      render(await api(`/v1/executions/${encodeURIComponent(id)}`, { signal: stop.signal }));
      replace(live, badge('live'));
      await follow(
        `/v1/executions/${encodeURIComponent(id)}/events`,
        (name, data) => {
          if (name === 'stdout' || name === 'stderr') write(name, data.data);
          else if (name === 'state') {
            api(`/v1/executions/${encodeURIComponent(id)}`, { signal: stop.signal }).then(render, () => {});
          } else if (name === 'result') {
            if (chunks === 0) {
              if (data.result?.stdout) write('stdout', data.result.stdout);
              if (data.result?.stderr) write('stderr', data.result.stderr);
            }
            render(data);
          }
        },
        stop.signal,
      );
      replace(live, badge('ended'));
      if (chunks === 0) output.append(el('span', { class: 'muted' }, '(no output)'));
      await loadAudit(audit, id, stop.signal);
    } catch (error) {
      if (stop.signal.aborted) return;
      replace(live);
      replace(
        head,
        error instanceof ApiError && error.status === 404
          ? notice('warn', 'No such execution for this token.')
          : notice('error', `Could not read the execution: ${error.message}`),
      );
    }
  })();
  return () => stop.abort();
}

function fact(label, value) {
  return el('div', {}, el('dt', {}, label), el('dd', {}, value));
}

function renderEgress(root, records) {
  if (!records || records.length === 0) {
    replace(root, el('p', { class: 'muted' }, 'No egress: the run had no network, or made no request.'));
    return;
  }
  replace(
    root,
    table(
      ['Time', 'Decision', 'Method', 'Host', 'Port', 'Path', 'Address', 'Status', 'Reason'],
      records.map((r) => [
        time(r.time),
        badge(r.decision),
        visible(r.method),
        visible(r.host),
        String(r.port ?? '—'),
        visible(r.path ?? '—'),
        visible(r.address ?? '—'),
        String(r.status ?? '—'),
        visible(r.reason ?? ''),
      ]),
    ),
  );
}

async function loadAudit(root, id, signal) {
  try {
    const { data } = await api(`/v1/executions/${encodeURIComponent(id)}/audit`, { signal });
    if (data.length === 0) {
      replace(root, el('p', { class: 'muted' }, 'No audit records of this execution (yet).'));
      return;
    }
    // On NATS each record names the process whose log holds it (its seq and hash are of that log's chain).
    const sources = data.some((r) => typeof r.source === 'string');
    replace(
      root,
      table(
        ['Seq', 'Time', 'Record', ...(sources ? ['Log'] : []), 'Subject', 'Outcome', 'Reason', 'Hash'],
        data.map((r) => [
          String(r.seq),
          time(r.time),
          badge(r.type),
          ...(sources ? [el('code', {}, visible(String(r.source ?? '—')))] : []),
          visible(r.subject ?? '—'),
          visible(r.outcome ?? ''),
          visible(r.reason ?? ''),
          el('code', { attrs: { title: String(r.hash) } }, visible(String(r.hash).slice(0, 12))),
        ]),
      ),
    );
  } catch (error) {
    if (!signal.aborted) replace(root, notice('error', `Could not read the audit records: ${error.message}`));
  }
}
