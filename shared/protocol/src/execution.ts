// The execution as every surface returns it: lifecycle status, timestamps and, once finished, the result.

import { z } from 'zod';
import { Backend, Language } from './request.ts';

export const STATUSES = ['queued', 'running', 'finished'] as const;

/**
 * How an execution ended. `error` is a non-zero exit or an uncaught error in the guest;
 * `rejected` is refused before it ran; `internal_error` is Airlock's fault, never the guest's.
 */
export const OUTCOMES = [
  'success',
  'error',
  'timeout',
  'memory_limit',
  'output_limit',
  'canceled',
  'rejected',
  'internal_error',
] as const;

export const Status = z.enum(STATUSES);
export const Outcome = z.enum(OUTCOMES);

export const Usage = z.object({
  cpu_ms: z.number().nullable(),
  wall_ms: z.number(),
  memory_peak_bytes: z.number().nullable(),
});

export const ResolvedLimits = z.object({
  wall_time_ms: z.number().int(),
  cpu_time_ms: z.number().int(),
  memory_mb: z.number().int(),
  output_bytes: z.number().int(),
});

/** A file the program left in its output folder, returned with the result (count and size capped). */
export const OutputFile = z.object({
  path: z.string(),
  size: z.number().int(),
  encoding: z.literal('base64'),
  content: z.string(),
});

export const ExecutionResult = z.object({
  outcome: Outcome,
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.object({ stdout: z.boolean(), stderr: z.boolean() }),
  usage: Usage,
  /** Why the execution ended as it did, for every outcome but success and error. */
  reason: z.string().nullable(),
  /** Output files (container backends); absent when the backend has none. */
  files: z.array(OutputFile).optional(),
});

export const Execution = z.object({
  id: z.string(),
  tenant: z.string(),
  status: Status,
  language: Language,
  backend: Backend,
  limits: ResolvedLimits,
  metadata: z.record(z.string(), z.string()),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  result: ExecutionResult.nullable(),
});

/** What a watcher sees, in order; a late watcher is first given what it missed. */
export const ExecutionEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), status: Status }),
  z.object({ type: z.literal('output'), stream: z.enum(['stdout', 'stderr']), data: z.string() }),
  z.object({ type: z.literal('result'), execution: Execution }),
]);

export type Status = z.infer<typeof Status>;
export type Outcome = z.infer<typeof Outcome>;
export type Usage = z.infer<typeof Usage>;
export type ResolvedLimits = z.infer<typeof ResolvedLimits>;
export type ExecutionResult = z.infer<typeof ExecutionResult>;
export type OutputFile = z.infer<typeof OutputFile>;
export type Execution = z.infer<typeof Execution>;
export type ExecutionEvent = z.infer<typeof ExecutionEvent>;
export type OutputStream = 'stdout' | 'stderr';
