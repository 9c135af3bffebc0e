// The Sandbox interface every backend implements (isolate now; docker and gvisor later).
// A backend runs one job in a fresh sandbox and destroys it afterwards. run() never throws for anything the
// guest does: every guest fault, limit and cancel comes back as an ExecutionResult with its outcome.

import type { ExecutionResult, Language, OutputStream, ResolvedLimits } from '@airlock/protocol';

export type BackendName = 'isolate' | 'docker' | 'gvisor';

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
