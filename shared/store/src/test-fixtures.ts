// Builders shared by this package's tests: executions in each state, results, a temp folder for a store file,
// and a clock the test moves by hand. For tests only; never imported by the store itself.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Execution, type ExecutionResult, newExecutionId } from '@airlock/protocol';

export const T0 = Date.parse('2026-01-01T00:00:00Z');

export function queuedExecution(tenant: string, extra: Partial<Execution> = {}): Execution {
  return {
    id: newExecutionId(),
    tenant,
    status: 'queued',
    language: 'javascript',
    backend: 'isolate',
    limits: { wall_time_ms: 1000, cpu_time_ms: 1000, memory_mb: 64, output_bytes: 1 << 24 },
    metadata: {},
    created_at: new Date(T0).toISOString(),
    started_at: null,
    finished_at: null,
    result: null,
    template: null,
    ...extra,
  };
}

export function result(stdout = '', extra: Partial<ExecutionResult> = {}): ExecutionResult {
  return {
    outcome: 'success',
    exit_code: 0,
    signal: null,
    stdout,
    stderr: '',
    truncated: { stdout: false, stderr: false },
    usage: { cpu_ms: 1.5, wall_ms: 2.25, memory_peak_bytes: null },
    reason: null,
    ...extra,
  };
}

export function finished(execution: Execution, atMs: number, outcome = result()): Execution {
  return {
    ...execution,
    status: 'finished',
    started_at: execution.started_at ?? new Date(atMs).toISOString(),
    finished_at: new Date(atMs).toISOString(),
    result: outcome,
  };
}

export function manualClock(start = T0) {
  let ms = start;
  return {
    now: () => new Date(ms),
    advance(by: number) {
      ms += by;
    },
    get ms() {
      return ms;
    },
  };
}

/** A temp folder removed by `using` (`using dir = tempDir()`). */
export function tempDir(): { path: string; file: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), 'airlock-store-'));
  return {
    path,
    file: join(path, 'data', 'airlock.db'),
    [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }),
  };
}
