// The executions page: the tenant's executions with filters (status, outcome, language, backend) and live
// status, and a box to open one by its id (which works even where the listing is not served).

import { badge, duration, el, time, visible } from '../dom.js';
import { mountListing } from './listing.js';

const STATUSES = ['queued', 'running', 'finished'];
const OUTCOMES = [
  'success',
  'error',
  'timeout',
  'memory_limit',
  'output_limit',
  'canceled',
  'rejected',
  'internal_error',
];
const LANGUAGES = ['javascript', 'typescript', 'python', 'bash'];
const BACKENDS = ['isolate', 'docker', 'gvisor'];

export function executionsView(root) {
  const input = el('input', {
    attrs: {
      name: 'id',
      placeholder: 'ex_…',
      size: 28,
      pattern: 'ex_[A-Za-z0-9_-]{22}',
      'aria-label': 'execution id',
    },
  });
  const open = el(
    'span',
    { class: 'open-by-id' },
    input,
    el(
      'button',
      {
        attrs: { type: 'button' },
        on: {
          click: () => {
            const id = input.value.trim();
            if (/^ex_[A-Za-z0-9_-]{22}$/.test(id)) {
              location.hash = `#/executions/${id}`;
            } else {
              input.setCustomValidity('not an execution id');
              input.reportValidity();
            }
          },
        },
      },
      'Open',
    ),
  );
  return mountListing(root, {
    path: '/v1/executions',
    title: 'Executions',
    extra: open,
    emptyText: 'No executions match.',
    filters: [
      { name: 'status', label: 'Status', values: STATUSES },
      { name: 'outcome', label: 'Outcome', values: OUTCOMES },
      { name: 'language', label: 'Language', values: LANGUAGES },
      { name: 'backend', label: 'Backend', values: BACKENDS },
    ],
    columns: [
      {
        label: 'Execution',
        cell: (x) => el('a', { attrs: { href: `#/executions/${encodeURIComponent(x.id)}` } }, visible(x.id)),
      },
      { label: 'Status', cell: (x) => badge(x.status) },
      { label: 'Outcome', cell: (x) => badge(x.result?.outcome ?? (x.status === 'finished' ? null : '…')) },
      { label: 'Language', cell: (x) => visible(x.language) },
      { label: 'Backend', cell: (x) => visible(x.backend) },
      { label: 'Created', cell: (x) => time(x.created_at) },
      { label: 'Took', cell: (x) => duration(x.created_at, x.finished_at) },
      {
        label: 'Metadata',
        cell: (x) =>
          visible(
            Object.entries(x.metadata ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ),
      },
    ],
  });
}
