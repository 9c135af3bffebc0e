// The validator of every route's body, query, params and headers: the route's zod schema, and on failure every
// issue at once with unknown keys named ("did you mean"), in the same coded body as the NATS and MCP surfaces.
// Fastify tags the failure with where the input was (body, querystring, params, headers); the error handler
// turns it into the AirlockError with that prefix (`query.wait`). Never passes on input it did not validate.

import { type AirlockError, validationError } from '@airlock/protocol';
import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';

/** A zod failure of one part of a request, waiting for Fastify to say which part. */
export class RequestValidationFailure extends Error {
  readonly issues: z.ZodError;
  readonly schema: z.ZodType;
  /** Set by Fastify: body, querystring, params or headers. */
  validationContext?: string;

  constructor(issues: z.ZodError, schema: z.ZodType) {
    super('request validation failed');
    this.name = 'RequestValidationFailure';
    this.issues = issues;
    this.schema = schema;
  }

  toAirlockError(): AirlockError {
    const where = this.validationContext;
    const prefix =
      where === undefined || where === 'body' ? undefined : where === 'querystring' ? 'query' : where;
    return validationError(this.issues, this.schema, prefix);
  }
}

export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const parsed = schema.safeParse(data);
    return parsed.success
      ? { value: parsed.data }
      : { error: new RequestValidationFailure(parsed.error, schema) };
  };
