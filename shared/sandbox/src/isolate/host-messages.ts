// The IPC contract between the IsolateSandbox (parent) and an isolate host (child process): message shapes,
// the host's special exit codes, and the checks each side runs on every message it receives.
// Must never trust a message because of where it came from: anything that fails its check is dropped.

import {
  type Language,
  OUTCOMES,
  type Outcome,
  type OutputStream,
  type ResolvedLimits,
} from '@airlock/protocol';

/**
 * On a catastrophic isolated-vm error the host writes this marker and a kind to its stderr, then kills itself
 * (a normal exit can hang at that point). Guest output never reaches the host's stderr, so a guest cannot
 * forge it.
 */
export const HOST_FATAL_MARKER = 'airlock-isolate-host-fatal:';
export type HostFatalKind = 'out-of-memory' | 'catastrophic';

/** An isolate never gets less heap than this, whatever the job's memory limit says. */
export const MIN_MEMORY_MB = 8;

export interface HostJobFile {
  path: string;
  content: Uint8Array;
}

/** One job as the host receives it; `id` is a per-dispatch token, so stale messages can be told apart. */
export interface HostJob {
  id: string;
  language: Language;
  code: string;
  files: HostJobFile[];
  stdin: string;
  args: string[];
  env: Record<string, string>;
  limits: ResolvedLimits;
  /** The run's egress proxy URL with its per-run credential; guest fetch goes through it. */
  egressProxy?: string;
}

export type ParentMessage = { type: 'run'; job: HostJob } | { type: 'cancel'; id: string };

export interface OutputChunk {
  stream: OutputStream;
  text: string;
}

/** How a job or a session cell running in a host reports to the parent (host-process.ts: reportToParent). */
export interface HostReports {
  /** Streams output while it runs. */
  sendOutput: (chunks: OutputChunk[]) => void;
  /** Reports its end, with the output not streamed yet; called exactly once. */
  sendResult: (result: HostJobResult, chunks: OutputChunk[]) => void;
}

/** What the host reports when a job ends; the parent adds the output it collected. */
export interface HostJobResult {
  id: string;
  outcome: Outcome;
  exit_code: number | null;
  reason: string | null;
  truncated: { stdout: boolean; stderr: boolean };
  usage: { cpu_ms: number | null; wall_ms: number; memory_peak_bytes: number | null };
  /** Session cells only (session-host-main.ts): the value of the cell's last expression, as text/plain. */
  value?: { 'text/plain': string } | null;
  /** Session cells only: the exception the cell did not catch. */
  exception?: { name: string; message: string; traceback: string } | null;
  /** Session cells only: the cell ended the session's isolate, and why. */
  session_end?: HostSessionEnd;
}

export type HostSessionEnd = 'interpreter_exited' | 'memory_limit' | 'cell_timeout';
const SESSION_ENDS = new Set<unknown>(['interpreter_exited', 'memory_limit', 'cell_timeout']);

/** The last output of a job travels with its result (`chunks`), saving a message per job. */
export type HostMessage =
  | { type: 'ready'; v8: string }
  | { type: 'output'; id: string; chunks: OutputChunk[] }
  | ({ type: 'result'; chunks: OutputChunk[] } & HostJobResult);

const OUTCOME_SET = new Set<string>(OUTCOMES);

type Rec = Record<string, unknown>;

function isRecord(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStream = (v: unknown): v is OutputStream => v === 'stdout' || v === 'stderr';

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every(isString);
}

const positiveInt = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;

function isLimits(value: unknown): value is ResolvedLimits {
  if (!isRecord(value)) return false;
  const { wall_time_ms, cpu_time_ms, memory_mb, output_bytes } = value;
  return (
    positiveInt(wall_time_ms) &&
    positiveInt(cpu_time_ms) &&
    positiveInt(memory_mb) &&
    Number.isSafeInteger(output_bytes) &&
    (output_bytes as number) >= 0
  );
}

function isJobFile(value: unknown): value is HostJobFile {
  return isRecord(value) && isString(value.path) && value.content instanceof Uint8Array;
}

/** True when `value` is a job the host will accept; the parent checks before it sends one. */
export function isHostJob(value: unknown): value is HostJob {
  return (
    isRecord(value) &&
    isString(value.id) &&
    (value.language === 'javascript' || value.language === 'typescript') &&
    isString(value.code) &&
    Array.isArray(value.files) &&
    value.files.every(isJobFile) &&
    isString(value.stdin) &&
    Array.isArray(value.args) &&
    value.args.every(isString) &&
    isStringRecord(value.env) &&
    isLimits(value.limits) &&
    (value.egressProxy === undefined || isString(value.egressProxy))
  );
}

/** Checks a message the host received from its parent; null means drop it. */
export function parseParentMessage(raw: unknown): ParentMessage | null {
  if (!isRecord(raw)) return null;
  if (raw.type === 'run' && isHostJob(raw.job)) return { type: 'run', job: raw.job };
  if (raw.type === 'cancel' && isString(raw.id)) return { type: 'cancel', id: raw.id };
  return null;
}

function isChunk(value: unknown): value is OutputChunk {
  return isRecord(value) && isStream(value.stream) && isString(value.text);
}

function isChunkList(value: unknown): value is OutputChunk[] {
  return Array.isArray(value) && value.every(isChunk);
}

function isSessionValue(value: unknown): value is HostJobResult['value'] {
  return value === undefined || value === null || (isRecord(value) && isString(value['text/plain']));
}

function isSessionException(value: unknown): value is HostJobResult['exception'] {
  return (
    value === undefined ||
    value === null ||
    (isRecord(value) && isString(value.name) && isString(value.message) && isString(value.traceback))
  );
}

/** The optional session fields of a result, checked and copied (absent when the host sent none). */
function sessionFields(raw: Rec): Pick<HostJobResult, 'value' | 'exception' | 'session_end'> | null {
  const { value, exception, session_end } = raw;
  if (!isSessionValue(value) || !isSessionException(exception)) return null;
  if (session_end !== undefined && !SESSION_ENDS.has(session_end)) return null;
  const fields: Pick<HostJobResult, 'value' | 'exception' | 'session_end'> = {};
  if (value !== undefined) fields.value = value === null ? null : { 'text/plain': value['text/plain'] };
  if (exception !== undefined) {
    fields.exception =
      exception === null
        ? null
        : { name: exception.name, message: exception.message, traceback: exception.traceback };
  }
  if (session_end !== undefined) fields.session_end = session_end as HostSessionEnd;
  return fields;
}

function isResult(raw: Rec): raw is Rec & HostJobResult {
  const { truncated, usage } = raw;
  return (
    isString(raw.id) &&
    isString(raw.outcome) &&
    OUTCOME_SET.has(raw.outcome) &&
    (raw.exit_code === null || Number.isInteger(raw.exit_code)) &&
    (raw.reason === null || isString(raw.reason)) &&
    isRecord(truncated) &&
    typeof truncated.stdout === 'boolean' &&
    typeof truncated.stderr === 'boolean' &&
    isRecord(usage) &&
    (usage.cpu_ms === null || isCount(usage.cpu_ms)) &&
    isCount(usage.wall_ms) &&
    (usage.memory_peak_bytes === null || isCount(usage.memory_peak_bytes))
  );
}

/** Checks a message the parent received from a host; null means drop it. */
export function parseHostMessage(raw: unknown): HostMessage | null {
  if (!isRecord(raw)) return null;
  if (raw.type === 'ready' && isString(raw.v8)) return { type: 'ready', v8: raw.v8 };
  if (raw.type === 'output' && isString(raw.id) && isChunkList(raw.chunks)) {
    return { type: 'output', id: raw.id, chunks: raw.chunks };
  }
  const session = raw.type === 'result' ? sessionFields(raw) : null;
  if (raw.type === 'result' && isResult(raw) && isChunkList(raw.chunks) && session !== null) {
    const { id, outcome, exit_code, reason, truncated, usage } = raw;
    return {
      ...session,
      type: 'result',
      chunks: raw.chunks,
      id,
      outcome,
      exit_code,
      reason,
      truncated: { stdout: truncated.stdout, stderr: truncated.stderr },
      usage: { cpu_ms: usage.cpu_ms, wall_ms: usage.wall_ms, memory_peak_bytes: usage.memory_peak_bytes },
    };
  }
  return null;
}
