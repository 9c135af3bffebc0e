// The execution as every surface returns it: lifecycle status, timestamps and, once finished, the result.

import { z } from 'zod';
import { Backend, Language, TemplateName } from './request.ts';

export const STATUSES = ['queued', 'running', 'finished'] as const;

/**
 * How an execution ended. `error` is a non-zero exit or an uncaught error in the guest;
 * `rejected` is refused before it ran; `internal_error` is Airlock's fault, never the guest's;
 * `compile_error` is a compile step that did not succeed (non-zero exit, killed, or past
 * `limits.compile_wall_time_ms`): the program did not run.
 */
export const OUTCOMES = [
  'success',
  'error',
  'timeout',
  'memory_limit',
  'output_limit',
  'compile_error',
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

/** One request the egress proxy saw for a run, allowed or not. Never holds a secret value. */
export const EgressRecord = z.object({
  execution_id: z.string(),
  time: z.string(),
  method: z.string(),
  /** `http` (forwarded), `https` (plain HTTP upgraded to TLS upstream for a credential) or `tunnel` (CONNECT). */
  scheme: z.enum(['http', 'https', 'tunnel']),
  host: z.string(),
  port: z.number().int().nullable(),
  /** Path and query for forwarded requests; null for tunnels. */
  path: z.string().nullable(),
  /** The address that was checked and dialled; null when refused before resolution. */
  address: z.string().nullable(),
  decision: z.enum(['allowed', 'denied']),
  reason: z.string().nullable(),
  status: z.number().int().nullable(),
  bytes_out: z.number().int(),
  bytes_in: z.number().int(),
  credential: z.string().nullable(),
});

/** Rich output of a notebook-style cell: MIME type → content (text, or base64 for image/png). */
export const MimeBundle = z.record(z.string(), z.string());

/** An exception the cell raised and did not catch. */
export const CellException = z.object({ name: z.string(), message: z.string(), traceback: z.string() });

/** The compile step of a template language (its output is capped by `limits.output_bytes` on its own). */
export const CompileResult = z.object({
  /** null when it was killed (its wall-time limit, memory). */
  exit_code: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  wall_ms: z.number(),
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
  /** Session cells: display() calls and figures shown or left open, in order. */
  display: z.array(MimeBundle).optional(),
  /** Session cells: the value of the final expression; null when there is none (or it is None). */
  value: MimeBundle.nullable().optional(),
  /** Session cells: the uncaught exception, or null. */
  exception: CellException.nullable().optional(),
  /** Egress records of the run (runs with network egress through the proxy only). */
  egress: z.array(EgressRecord).optional(),
  /** The compile step; null when the language has none (absent: a result of a backend without templates). */
  compile: CompileResult.nullable().optional(),
  /** With `expected_output`: whether stdout equals it (trailing newlines ignored on both sides). */
  matched: z.boolean().optional(),
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
  /** The template the request (or the cell's session) named; null: the language's default image. */
  template: TemplateName.nullable().default(null),
  /** Set on the cells of a session. */
  session_id: z.string().optional(),
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
export type CompileResult = z.infer<typeof CompileResult>;
export type OutputFile = z.infer<typeof OutputFile>;
export type MimeBundle = z.infer<typeof MimeBundle>;
export type CellException = z.infer<typeof CellException>;
export type EgressRecord = z.infer<typeof EgressRecord>;
export type Execution = z.infer<typeof Execution>;
export type ExecutionEvent = z.infer<typeof ExecutionEvent>;
export type OutputStream = 'stdout' | 'stderr';
