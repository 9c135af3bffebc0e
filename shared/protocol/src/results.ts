// Results that carry no program output: an execution ended by Airlock itself before or instead of its program
// (canceled, shut down, refused by the sandbox, a backend failure).

import type { ExecutionResult, Outcome } from './execution.ts';

/** A result with no output and no exit status; `reason` says why the execution ended. */
export function emptyResult(outcome: Outcome, reason: string, wallMs = 0): ExecutionResult {
  return {
    outcome,
    exit_code: null,
    signal: null,
    stdout: '',
    stderr: '',
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: null, wall_ms: Math.max(0, wallMs), memory_peak_bytes: null },
    reason,
  };
}
