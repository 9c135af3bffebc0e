// The callback a request may name: where Airlock posts the lifecycle events of that execution or session
// (Standard Webhooks), and the delivery log's attempts as every surface returns them. Only the shape is checked here; whether Airlock will deliver to the URL (scheme,
// user-info, the address it names or resolves to) is the gateway's check, refused with `callback_refused`.
import { z } from 'zod';
import { LifecycleEventType } from './lifecycle-event.ts';

/** Absolute bound on a callback URL's length. */
export const CALLBACK_URL_MAX_CHARS = 2048;

export const Callback = z.strictObject({
  /** `https://…` (plain `http` only for an address:port the operator allows); no user-info. */
  url: z.string().min(1).max(CALLBACK_URL_MAX_CHARS),
  /**
   * Which of the subject's lifecycle events to deliver.
   * @default every event about this execution or session
   */
  events: z
    .array(LifecycleEventType)
    .min(1)
    .max(16)
    .refine((events) => new Set(events).size === events.length, 'must not repeat an event type')
    .optional(),
});
export type Callback = z.infer<typeof Callback>;

/** One attempt to deliver one event to one receiver (never a secret, a signature or a response body). */
export const DeliveryAttempt = z.object({
  /** The `webhook-id` header: the same on every attempt of one delivery. */
  webhook_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  /** Scheme, host, port and path of the receiver (the query is left out). */
  url: z.string(),
  /** 1 for the first attempt. */
  attempt: z.number().int(),
  /** The receiver's HTTP status, or null when none came (refused, unreachable, timed out). */
  status: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
  /** delivered (2xx), retrying (another attempt is scheduled), failed (given up). */
  outcome: z.enum(['delivered', 'retrying', 'failed']),
  at: z.string(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

/** `GET /v1/executions/:id/deliveries` and `GET /v1/sessions/:id/deliveries`: oldest attempt first. */
export const DeliveryLogPage = z.object({ data: z.array(DeliveryAttempt) });
export type DeliveryLogPage = z.infer<typeof DeliveryLogPage>;
