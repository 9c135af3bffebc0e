// The Sandbox interface every backend implements (isolate now; docker and gvisor later).
// A backend runs one job in a fresh sandbox and destroys it afterwards. run() never throws for anything the
// guest does: every guest fault, limit and cancel comes back as an ExecutionResult with its outcome.

import type { BackendName, ExecutionResult, Language, OutputStream, ResolvedLimits } from '@airlock/protocol';
import type { EgressAccess } from './egress-access.ts';

export interface SandboxFile {
  /** Relative path inside the working folder, already validated by the protocol schema. */
  path: string;
  content: Uint8Array;
}

export interface SandboxJob {
  executionId: string;
  language: Language;
  code: string;
  files: SandboxFile[];
  stdin: string;
  args: string[];
  /** Plain, non-secret variables from the request. */
  env: Record<string, string>;
  limits: ResolvedLimits;
  /** Network egress through the run's proxy; absent, the job has no network. */
  egress?: EgressAccess | undefined;
}

export interface SandboxRunOptions {
  /** Aborting stops the job; the result then has outcome `canceled`. */
  signal: AbortSignal;
  /** Called with output as it is produced, already capped to the job's output limit. */
  onOutput?: (stream: OutputStream, chunk: string) => void;
}

export interface RuntimeInfo {
  language: Language;
  backend: BackendName;
  version: string;
  available: boolean;
  /** Why the runtime is unavailable, when it is. */
  reason?: string;
}

export interface Sandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[];
  runtimes(): RuntimeInfo[];
  run(job: SandboxJob, options: SandboxRunOptions): Promise<ExecutionResult>;
  /** Stops accepting jobs, ends running ones, and releases every process or container it started. */
  close(): Promise<void>;
}

/** What a session sandbox is opened with (issue #7): the interpreter's language and the session's limits. */
export interface SessionSpec {
  sessionId: string;
  language: Language;
  /** memory_mb bounds the whole session sandbox; the rest are per-cell defaults. */
  limits: ResolvedLimits;
}

/** One cell of a session: code run in the interpreter that lives across cells. */
export interface SessionCell {
  executionId: string;
  code: string;
  /** Written into the session's working folder before the cell runs; they stay there. */
  files: SandboxFile[];
  stdin: string;
  limits: ResolvedLimits;
}

/** Why a session sandbox ended by itself (not closed by its owner). */
export type SessionEnd = 'interpreter_exited' | 'memory_limit' | 'cell_timeout' | 'protocol_violation';

/**
 * A leased sandbox that keeps its interpreter between cells. run() never throws for anything the guest does;
 * cells run one at a time. After `ended` settles (or close()), run() answers without running anything.
 */
export interface SandboxSession {
  readonly id: string;
  /** Settles when the sandbox ends by itself, with why; never rejects. */
  readonly ended: Promise<SessionEnd>;
  run(cell: SessionCell, options: SandboxRunOptions): Promise<ExecutionResult>;
  /** Destroys the sandbox (release of the lease); idempotent. */
  close(): Promise<void>;
}

/** A backend that leases long-lived sandboxes for sessions, beside its one-shot Sandbox. */
export interface SessionSandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[];
  /** Starts a session sandbox and resolves when its interpreter is ready. Throws when it cannot start. */
  open(spec: SessionSpec): Promise<SandboxSession>;
  /** Destroys every open session sandbox and refuses new ones. */
  close(): Promise<void>;
}
