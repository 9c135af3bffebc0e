// Turns a zod failure into the coded error every surface returns, naming the first offending field.

import type { z } from 'zod';
import { AirlockError } from './errors.ts';

export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replaceAll('.[', '[');
}

export function validationError(error: z.ZodError): AirlockError {
  const issue = error.issues[0];
  if (!issue) return new AirlockError('invalid_request');
  const field = fieldPath(issue.path);
  const message = field ? `${field}: ${issue.message}` : issue.message;
  return new AirlockError('invalid_request', message, field ? { field } : {});
}

/** Parses `input` with `schema` or throws an AirlockError naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}
