// Terminal results the queue itself decides: cancels, shutdown, and a worker that failed or returned garbage.
// Must never let a worker's return value through unchecked, nor put more than a short reason into it.

import { type Execution, ExecutionResult, emptyResult } from '@airlock/protocol';

/** The execution in its terminal state: status `finished`, finished_at set, the result attached. */
export function finishedExecution(execution: Execution, result: ExecutionResult, now: Date): Execution {
  return { ...execution, status: 'finished', finished_at: now.toISOString(), result };
}

/** The worker's return value if it is a well-formed result, otherwise an `internal_error` saying why. */
export function checkedResult(value: unknown, wallMs: number): ExecutionResult {
  const parsed = ExecutionResult.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  return emptyResult('internal_error', `worker returned an invalid result${where}`, wallMs);
}

/** The result of a worker that threw: `internal_error` naming the failure briefly. */
export function workerFailedResult(error: unknown, wallMs: number): ExecutionResult {
  return emptyResult('internal_error', `worker failed: ${describeFailure(error)}`, wallMs);
}

const MAX_FAILURE_CHARS = 200;

function describeFailure(error: unknown): string {
  const text =
    error instanceof Error ? `${error.name}: ${error.message}` : `non-error value (${typeof error})`;
  return text.length > MAX_FAILURE_CHARS ? `${text.slice(0, MAX_FAILURE_CHARS)}…` : text;
}

/** Milliseconds since the execution started, 0 if it never started. */
export function wallMsSinceStart(execution: Execution, now: Date): number {
  const started = execution.started_at;
  return started === null ? 0 : now.getTime() - Date.parse(started);
}
