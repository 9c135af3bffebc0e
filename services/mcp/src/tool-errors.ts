// Failures of a tool call as results the model can act on: Airlock's refusals keep their code, field and message
// (`invalid_request` naming `limits.wall_time_ms`, `session_busy`, `unauthorized`, ...); anything unexpected is
// reported without internals. Never a thrown error that would end the MCP session, never the bearer token.

import { isAirlockClientError } from '@airlock/client';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The error result of a tool; `_meta['airlock/error']` carries the code for programs. */
export function toolError(code: string, message: string, extra: { status?: number; field?: string } = {}) {
  const field = extra.field === undefined ? '' : ` (field ${extra.field})`;
  const result: CallToolResult = {
    content: [{ type: 'text', text: `Airlock error ${code}${field}: ${message}` }],
    isError: true,
    _meta: { 'airlock/error': { code, message, ...extra } },
  };
  return result;
}

export function errorResult(error: unknown): CallToolResult {
  if (isAirlockClientError(error)) {
    const extra: { status: number; field?: string } = { status: error.status };
    if (error.field !== undefined) extra.field = error.field;
    return toolError(error.code, error.message, extra);
  }
  return toolError('internal_error', 'the MCP server failed unexpectedly while calling Airlock');
}

/** True for failures that are not the caller's: worth a log line on the server side. */
export function isServerFault(error: unknown): boolean {
  if (!isAirlockClientError(error)) return true;
  return error.status === 0 ? error.code !== 'aborted' : error.status >= 500;
}
