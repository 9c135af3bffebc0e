// Turns a zod failure into the coded error every surface returns: every issue at once in `errors`, the first
// one also as the error's own `field` and `message`.

import type { z } from 'zod';
import { AirlockError } from './errors.ts';
import { fieldIssues } from './field-issues.ts';

export { fieldPath } from './field-issues.ts';

/** `schema` lets unknown keys be matched against the accepted ones; `prefix` names where the input was. */
export function validationError(error: z.ZodError, schema?: z.ZodType, prefix?: string): AirlockError {
  const issues = fieldIssues(error, schema, prefix);
  const first = issues[0];
  if (!first) return new AirlockError('invalid_request');
  return new AirlockError('invalid_request', first.message, {
    ...(first.field ? { field: first.field } : {}),
    issues,
  });
}

/** Parses `input` with `schema` or throws an AirlockError naming every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, schema);
  return parsed.data;
}
