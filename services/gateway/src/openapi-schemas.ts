// Response schemas that exist only for the OpenAPI document and the serializer.

import { ERROR_CODES, type ErrorCode } from '@airlock/protocol';
import { z } from 'zod';

export const ErrorResponse = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    field: z.string().optional(),
    retry_after: z.number().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});
