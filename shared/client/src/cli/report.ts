// How the `airlock` command reports a failure: a message on stderr (or, with --json, an `{"error":…}` body like
// the API's on stdout) and the exit code for it. Never prints the token.

import { AirlockClientError } from '../errors.ts';
import { UsageError } from './args.ts';
import { ConfigError } from './config.ts';
import { type CliContext, printJson } from './context.ts';
import { COMMAND_EXIT_CODES } from './exit-codes.ts';

/**
 * Prints `error` (as a message, or as `{"error":…}` on stdout with --json) and returns the exit code. `hint` follows
 * a usage error's message (where to read the usage).
 */
export function reportFailure(context: CliContext, error: unknown, json: boolean, hint?: string): number {
  const { terminal } = context;
  if (error instanceof UsageError || error instanceof ConfigError) {
    if (json) printJson(context, { error: { code: 'usage', message: error.message } });
    else terminal.message(`airlock: ${error.message}${hint ? ` (${hint})` : ''}`, 'red');
    return COMMAND_EXIT_CODES.usage;
  }
  if (error instanceof AirlockClientError) {
    const unreachable = error.status === 0 || error.code === 'unexpected_response';
    if (json) {
      const body: Record<string, unknown> = {
        code: error.code,
        message: error.message,
        status: error.status,
      };
      if (error.field !== undefined) body.field = error.field;
      if (error.retryAfter !== undefined) body.retry_after = error.retryAfter;
      if (error.issues !== undefined) body.errors = error.issues;
      printJson(context, { error: body });
    } else {
      const field = error.field === undefined ? '' : ` (field ${error.field})`;
      const retry = error.retryAfter === undefined ? '' : `; retry after ${error.retryAfter} s`;
      const more = (error.issues ?? []).slice(1).map((issue) => `\n  ${issue.message}`);
      terminal.message(`airlock: ${error.code}${field}: ${error.message}${retry}${more.join('')}`, 'red');
    }
    return unreachable ? COMMAND_EXIT_CODES.unreachable : COMMAND_EXIT_CODES.refused;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) printJson(context, { error: { code: 'failed', message } });
  else terminal.message(`airlock: ${message}`, 'red');
  return COMMAND_EXIT_CODES.failed;
}
