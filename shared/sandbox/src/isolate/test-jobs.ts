// Test fixture for the isolate backend's tests: an IsolateSandbox for a test file, SandboxJobs with sensible
// limits and a way to run them, and looks at a host process from outside. Must never be imported by production
// code.

import type { ExecutionResult, Language, OutputStream, ResolvedLimits } from '@airlock/protocol';
import { afterAll, beforeAll } from 'vitest';
import type { SandboxFile, SandboxJob } from '../sandbox.ts';
import { procStatusBytes } from './host-memory-cap.ts';
import { IsolateSandbox } from './isolate-sandbox.ts';

export const TEST_LIMITS: ResolvedLimits = {
  wall_time_ms: 20_000,
  cpu_time_ms: 20_000,
  memory_mb: 64,
  output_bytes: 64 * 1024,
};

export interface JobInput {
  code: string;
  language?: Language;
  files?: Record<string, string | Uint8Array>;
  stdin?: string;
  args?: string[];
  env?: Record<string, string>;
  limits?: Partial<ResolvedLimits>;
}

/**
 * An IsolateSandbox with `hosts` host processes (memory for TEST_LIMITS), started before the file's tests and
 * closed after them.
 */
export function useIsolateSandbox(hosts: number): () => IsolateSandbox {
  let sandbox: IsolateSandbox | undefined;
  beforeAll(async () => {
    sandbox = new IsolateSandbox({ hosts, defaultMemoryMb: TEST_LIMITS.memory_mb });
    await sandbox.start();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  return () => {
    if (sandbox === undefined) throw new Error('the isolate sandbox of this file has not started');
    return sandbox;
  };
}

let counter = 0;

export function makeJob(input: JobInput): SandboxJob {
  counter += 1;
  const files: SandboxFile[] = Object.entries(input.files ?? {}).map(([path, content]) => ({
    path,
    content: typeof content === 'string' ? new TextEncoder().encode(content) : content,
  }));
  return {
    executionId: `exe_test_${counter}`,
    language: input.language ?? 'javascript',
    code: input.code,
    files,
    stdin: input.stdin ?? '',
    args: input.args ?? [],
    env: input.env ?? {},
    limits: { ...TEST_LIMITS, ...input.limits },
  };
}

export interface RunOutcome {
  result: ExecutionResult;
  chunks: Array<{ stream: OutputStream; chunk: string }>;
}

export async function runJob(
  sandbox: IsolateSandbox,
  input: JobInput,
  signal: AbortSignal = new AbortController().signal,
): Promise<RunOutcome> {
  const chunks: RunOutcome['chunks'] = [];
  const result = await sandbox.run(makeJob(input), {
    signal,
    onOutput: (stream, chunk) => chunks.push({ stream, chunk }),
  });
  return { result, chunks };
}

/** True while a process with this pid exists (signal 0 only checks): the one probe of @airlock/testing. */
export { processAlive as processExists } from '@airlock/testing';

/** Peak resident memory (VmHWM) of process `pid` in bytes, read from outside; 0 once it has gone. */
export function peakResidentBytes(pid: number): number {
  return procStatusBytes(pid, 'VmHWM');
}

export interface HostMemoryWatch<T> {
  value: T;
  /** The host's highest resident memory seen from outside while `run` ran (bytes). */
  peak: number;
  /** The host's memory cap for the job (bytes), as the sandbox set it. */
  cap: number;
}

/**
 * Runs `run` while sampling, every 2 ms, the peak resident memory of host `pid` and the cap `capOf` reports
 * for it (the last one seen: a cap is set when a job is dispatched).
 */
export async function watchHostMemory<T>(
  pid: number,
  capOf: () => number | undefined,
  run: () => Promise<T>,
): Promise<HostMemoryWatch<T>> {
  let peak = peakResidentBytes(pid);
  let cap = Number.POSITIVE_INFINITY;
  const sample = () => {
    peak = Math.max(peak, peakResidentBytes(pid));
    const current = capOf();
    if (current !== undefined && Number.isFinite(current)) cap = current;
  };
  const timer = setInterval(sample, 2);
  try {
    const value = await run();
    sample();
    return { value, peak, cap };
  } finally {
    clearInterval(timer);
  }
}
