// The query strings of the listing and event routes (zod, so OpenAPI shows them and a bad one is a coded 400
// naming the field): a page size of 1..1000, ISO times, known filters, and `metadata.LABEL=value` label
// filters. Must refuse any key it does not know, so a misspelt filter never silently lists everything.

import {
  Backend,
  Language,
  LIFECYCLE_EVENT_TYPES,
  LifecycleEventType,
  Outcome,
  SessionLanguage,
  SessionStatus,
  Status,
  TemplateName,
} from '@airlock/protocol';
import { z } from 'zod';

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;
const LABEL_FILTER = /^metadata\.([a-z0-9][a-z0-9_.-]{0,62})$/;

const Limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE);
const IsoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/, 'must be an ISO 8601 time')
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 time');
const Cursor = z.string().min(1).max(512);

const common = {
  limit: Limit,
  cursor: Cursor.optional(),
  backend: Backend.optional(),
  created_after: IsoTime.optional(),
  created_before: IsoTime.optional(),
};

/** Known keys, plus `metadata.LABEL` keys with one string value each; anything else is refused by name. */
function withLabels<S extends z.ZodRawShape>(shape: S) {
  return z
    .object(shape)
    .catchall(z.string().max(256))
    .superRefine((query, context) => {
      for (const key of Object.keys(query)) {
        if (key in shape || LABEL_FILTER.test(key)) continue;
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown filter; use one of ${Object.keys(shape).join(', ')} or metadata.LABEL`,
        });
      }
    });
}

export const ExecutionListQuery = withLabels({
  ...common,
  status: Status.optional(),
  outcome: Outcome.optional(),
  language: Language.optional(),
  template: TemplateName.optional(),
});

export const SessionListQuery = withLabels({
  ...common,
  status: SessionStatus.optional(),
  language: SessionLanguage.optional(),
  template: TemplateName.optional(),
});

/** The `metadata.LABEL=value` filters of a parsed query, as label → value. */
export function labelFilters(query: Record<string, unknown>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const label = LABEL_FILTER.exec(key)?.[1];
    if (label !== undefined && typeof value === 'string') labels[label] = value;
  }
  return labels;
}

const EventTypes = z
  .string()
  .max(1024)
  .transform((text, context) => {
    const types = text.split(',').filter(Boolean);
    for (const type of types) {
      if (!LifecycleEventType.safeParse(type).success) {
        context.addIssue({
          code: 'custom',
          message: `unknown event type ${JSON.stringify(type.slice(0, 64))}; one of ${LIFECYCLE_EVENT_TYPES.join(', ')}`,
        });
        return z.NEVER;
      }
    }
    return types as LifecycleEventType[];
  });

export const EventFeedQuery = z
  .object({ after: Cursor.optional(), types: EventTypes.optional(), limit: Limit })
  .strict();

export const EventStreamQuery = z.object({ after: Cursor.optional(), types: EventTypes.optional() }).strict();
