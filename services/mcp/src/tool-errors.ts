// Failures of a tool call as results the model can act on: Airlock's refusals keep their code, field and message
// (`invalid_request` naming `limits.wall_time_ms`, `session_busy`, `unauthorized`, ...) and every issue of an
// invalid request; arguments this server refuses itself get the same shape as REST's; Airlock not answering
// says which URL was tried; anything unexpected is reported without internals. Never a thrown error that would
// end the MCP session, never the bearer token.

import { isAirlockClientError } from '@airlock/client';
import { type FieldIssue, validationError } from '@airlock/protocol';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';

export interface ToolErrorDetail {
  status?: number;
  field?: string;
  /** Every problem of an invalid request, as REST's `errors`. */
  errors?: readonly FieldIssue[];
}

/** The error result of a tool; `_meta['airlock/error']` carries the code, field and issues for programs. */
export function toolError(code: string, message: string, extra: ToolErrorDetail = {}): CallToolResult {
  const field = extra.field === undefined ? '' : ` (field ${extra.field})`;
  const more = (extra.errors ?? []).slice(1).map((issue) => `\n- ${issue.message}`);
  const detail: Record<string, unknown> = { code, message };
  if (extra.status !== undefined) detail.status = extra.status;
  if (extra.field !== undefined) detail.field = extra.field;
  if (extra.errors !== undefined) detail.errors = extra.errors.map((issue) => ({ ...issue }));
  return {
    content: [{ type: 'text', text: `Airlock error ${code}${field}: ${message}${more.join('')}` }],
    isError: true,
    _meta: { 'airlock/error': detail },
  };
}

/** Arguments the tool's schema refuses: REST's invalid_request, every issue named. */
export function argumentsError(error: z.ZodError, schema: z.ZodType): CallToolResult {
  const coded = validationError(error, schema);
  return toolError(coded.code, coded.message, {
    status: coded.status,
    ...(coded.field === undefined ? {} : { field: coded.field }),
    ...(coded.issues === undefined ? {} : { errors: coded.issues }),
  });
}

/** `airlockUrl` is where the server sends its calls, named when nothing answered there. */
export function errorResult(error: unknown, airlockUrl: string): CallToolResult {
  if (isAirlockClientError(error)) {
    if (error.code === 'network_error') {
      return toolError('network_error', `Airlock unreachable at ${airlockUrl}: ${error.message}`, {
        status: 0,
      });
    }
    const extra: ToolErrorDetail = { status: error.status };
    if (error.field !== undefined) extra.field = error.field;
    if (error.issues !== undefined) extra.errors = error.issues;
    return toolError(error.code, error.message, extra);
  }
  return toolError('internal_error', 'the MCP server failed unexpectedly while calling Airlock');
}

/** True for failures that are not the caller's: worth a log line on the server side. */
export function isServerFault(error: unknown): boolean {
  if (!isAirlockClientError(error)) return true;
  return error.status === 0 ? error.code !== 'aborted' : error.status >= 500;
}
