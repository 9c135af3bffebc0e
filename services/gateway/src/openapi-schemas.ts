// Response schemas that exist only for the OpenAPI document and the serializer: the error body of every
// surface, and a runtime as /v1/runtimes lists it.

import { BackendName, ERROR_CODES, type ErrorCode, Language, ResolvedLimits } from '@airlock/protocol';
import { z } from 'zod';

const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

/** One problem with the request: the dotted path of the field and what is wrong with it. */
export const FieldIssue = z.object({ field: z.string(), message: z.string() });

export const ErrorResponse = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    /** Dotted path of the offending field, where one field is at fault. */
    field: z.string().optional(),
    /** Every problem found, where a request has several (the first is `field`/`message`). */
    errors: z.array(FieldIssue).optional(),
    /** Seconds to wait before retrying (429 and 503; also the Retry-After header). */
    retry_after: z.number().int().min(0).optional(),
  }),
});

export const Runtime = z.object({
  language: Language,
  backend: BackendName,
  version: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  /**
   * The template serving the language on this backend by default (container backends; absent for the isolate).
   * The compiled languages (c, cpp, go, rust, java, ruby, php) run only in a template.
   */
  template: z.string().optional(),
});

export const RuntimeList = z.object({
  runtimes: z.array(Runtime),
  /** The server's limit defaults and ceilings: a request may ask up to the ceilings (a tenant or token may lower them). */
  limits: z.object({ defaults: ResolvedLimits, ceilings: ResolvedLimits }),
});
