// The exit status of the `airlock` command: the program's own exit code when it ran to an end, a fixed code for
// each way Airlock ended it, and codes for the command's own failures. One table, printed by `airlock help`.

import { constants } from 'node:os';
import type { Execution, Outcome } from '@airlock/protocol';

/** Exit codes for outcomes other than a program's own exit (success and error use the program's code). */
export const OUTCOME_EXIT_CODES = {
  internal_error: 121,
  rejected: 122,
  compile_error: 120,
  output_limit: 123,
  timeout: 124,
  memory_limit: 125,
  canceled: 130,
} as const satisfies Partial<Record<Outcome, number>>;

/** Exit codes for failures of the command itself. */
export const COMMAND_EXIT_CODES = {
  /** Something went wrong that is neither a usage error nor an answer from Airlock (e.g. writing a file). */
  failed: 1,
  /** Bad arguments, an unreadable input file, a bad AIRLOCK_URL/AIRLOCK_TOKEN. */
  usage: 2,
  /** Airlock answered with a coded error (`invalid_request`, `unauthorized`, `queue_full`, …). */
  refused: 3,
  /** No answer from Airlock, or one the client does not understand. */
  unreachable: 4,
} as const;

/** The exit status for a finished execution. */
export function exitCodeOf(execution: Execution): number {
  const result = execution.result;
  if (result === null) return COMMAND_EXIT_CODES.unreachable;
  if (result.outcome === 'success') return 0;
  if (result.outcome === 'error') {
    if (result.exit_code !== null && result.exit_code > 0 && result.exit_code < 256) return result.exit_code;
    const signal =
      result.signal === null ? undefined : constants.signals[result.signal as keyof typeof constants.signals];
    return signal === undefined ? 1 : 128 + signal;
  }
  return OUTCOME_EXIT_CODES[result.outcome];
}

/** The table as `airlock help` prints it. */
export function exitCodeHelp(): string {
  const rows = [
    ['0', 'the program succeeded'],
    ['1-255', "outcome error: the program's exit code (128+N when killed by signal N)"],
    ...Object.entries(OUTCOME_EXIT_CODES).map(([outcome, code]) => [String(code), `outcome ${outcome}`]),
    ['2', 'usage error (bad arguments, unreadable file, bad AIRLOCK_URL/AIRLOCK_TOKEN)'],
    ['3', 'Airlock refused the request (its error code is printed)'],
    ['4', 'Airlock could not be reached or gave an answer the client does not understand'],
  ];
  return rows.map(([code, meaning]) => `  ${code!.padEnd(7)} ${meaning}`).join('\n');
}
