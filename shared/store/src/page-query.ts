// What every listing of the store takes besides its own filters (executions and sessions alike): the backend
// and template a record must name, labels, a time window, the cursor of the previous page and the page size.
// Every given filter must match; pages are newest first.

import type { Backend } from '@airlock/protocol';

export interface PageQuery {
  backend?: Backend;
  /** The template the record was created from (matches only records that name one). */
  template?: string;
  /** Metadata labels with the value each must have. */
  labels?: Readonly<Record<string, string>>;
  /** ISO times: created strictly after / strictly before. */
  createdAfter?: string;
  createdBefore?: string;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Records per page. */
  limit: number;
}
