// The lifecycle events of a tenant's executions, sessions and snapshots: what the events feed
// (`GET /v1/events`) lists and what webhooks deliver. One definition for every surface.
// Invariant: an event names exactly one subject of its tenant; `data` never holds a secret or program output.
import { z } from 'zod';

export const LIFECYCLE_EVENT_TYPES = [
  'execution.accepted',
  'execution.started',
  'execution.finished',
  'execution.canceled',
  'session.created',
  'session.paused',
  'session.resumed',
  'session.closed',
  'snapshot.created',
  'snapshot.deleted',
] as const;

export const LifecycleEventType = z.enum(LIFECYCLE_EVENT_TYPES);
export type LifecycleEventType = z.infer<typeof LifecycleEventType>;

export const LifecycleEvent = z.strictObject({
  /** Unique, e.g. `evt_…`; the same event keeps its id on every surface and every delivery attempt. */
  id: z.string(),
  type: LifecycleEventType,
  tenant: z.string(),
  /** ISO 8601 time the event happened. */
  at: z.string(),
  /** The execution (`ex_…`), session (`ses_…`) or snapshot (`snp_…`) id the event is about. */
  subject: z.string(),
  /** A small summary (status, outcome, exit code, language, backend, metadata …); never program output. */
  data: z.record(z.string(), z.unknown()),
});
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;
