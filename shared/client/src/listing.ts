// The wire shapes of the listing and event routes (`GET /v1/executions`, `/v1/sessions`, `/v1/events`) and
// the query strings the client sends for them. Must put each filter in the query exactly as the server names
// it (`metadata.LABEL=value` for labels), and leave out what the caller left out.

import {
  type Backend,
  Execution,
  LifecycleEvent,
  type LifecycleEventType,
  type Outcome,
  Session,
  type Status,
} from '@airlock/protocol';
import { z } from 'zod';

/** Filters shared by both lists; every given filter must match. */
export interface ListFilters {
  backend?: Backend;
  /** Metadata labels with the value each must have. */
  metadata?: Readonly<Record<string, string>>;
  /** ISO 8601 times, exclusive. */
  createdAfter?: string;
  createdBefore?: string;
  /** 1..1000. @default 100 (the server's) */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export interface ExecutionFilters extends ListFilters {
  status?: Status;
  outcome?: Outcome;
  language?: string;
  template?: string;
}

export interface SessionFilters extends ListFilters {
  status?: Session['status'];
  language?: string;
}

export interface EventQuery {
  /** The `next` (or an event's `cursor`) to resume after. */
  after?: string;
  types?: readonly LifecycleEventType[];
  /** 1..1000. @default 100 (the server's) */
  limit?: number;
}

export const ExecutionPage = z.object({ data: z.array(Execution), next: z.string().nullable() });
export const SessionPage = z.object({ data: z.array(Session), next: z.string().nullable() });
export const FeedEvent = LifecycleEvent.extend({ cursor: z.string() });
export const EventPage = z.object({ data: z.array(FeedEvent), next: z.string() });
export type ExecutionPage = z.infer<typeof ExecutionPage>;
export type SessionPage = z.infer<typeof SessionPage>;
export type FeedEvent = z.infer<typeof FeedEvent>;
export type EventPage = z.infer<typeof EventPage>;

/** The query string (with its `?`, or empty) of a listing. */
export function listQuery(filters: ExecutionFilters | SessionFilters): string {
  const params = new URLSearchParams();
  const { metadata, createdAfter, createdBefore, limit, ...plain } = filters;
  for (const [key, value] of Object.entries(plain)) {
    if (value !== undefined) params.set(key, String(value));
  }
  for (const [label, value] of Object.entries(metadata ?? {})) params.set(`metadata.${label}`, value);
  if (createdAfter !== undefined) params.set('created_after', createdAfter);
  if (createdBefore !== undefined) params.set('created_before', createdBefore);
  if (limit !== undefined) params.set('limit', String(limit));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The query string (with its `?`, or empty) of an event read. */
export function eventQuery(query: EventQuery): string {
  const params = new URLSearchParams();
  if (query.after !== undefined) params.set('after', query.after);
  if (query.types && query.types.length > 0) params.set('types', query.types.join(','));
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  const text = params.toString();
  return text ? `?${text}` : '';
}
