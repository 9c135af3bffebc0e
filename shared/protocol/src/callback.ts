// The callback a request may name: where Airlock posts the lifecycle events of that execution or session
// (Standard Webhooks). Only the shape is checked here; whether Airlock will deliver to the URL (scheme,
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
