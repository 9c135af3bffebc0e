// The sessions page: the tenant's sessions with their status, cells and expiry.

import { badge, el, time, visible } from '../dom.js';
import { mountListing } from './listing.js';

export function sessionsView(root) {
  return mountListing(root, {
    path: '/v1/sessions',
    title: 'Sessions',
    emptyText: 'No sessions.',
    filters: [
      { name: 'status', label: 'Status', values: ['ready', 'busy', 'closed'] },
      { name: 'language', label: 'Language', values: ['python', 'javascript', 'typescript'] },
      { name: 'backend', label: 'Backend', values: ['isolate', 'docker', 'gvisor'] },
    ],
    columns: [
      { label: 'Session', cell: (s) => el('code', {}, visible(s.id)) },
      { label: 'Status', cell: (s) => badge(s.status) },
      { label: 'Language', cell: (s) => visible(s.language) },
      { label: 'Backend', cell: (s) => visible(s.backend) },
      { label: 'Cells', cell: (s) => String(s.cells) },
      { label: 'Created', cell: (s) => time(s.created_at) },
      { label: 'Expires', cell: (s) => (s.closed_at ? '—' : time(s.expires_at)) },
      {
        label: 'Closed',
        cell: (s) => (s.closed_at ? `${time(s.closed_at)} (${visible(s.closed_reason ?? '')})` : ''),
      },
    ],
  });
}
