// The Sandbox interface every backend implements (isolate, docker, gvisor), and the session side some of them
// add (SessionBackend). A backend runs one job in a fresh sandbox and destroys it afterwards. run() never throws
// for anything the guest does: every guest fault, limit and cancel comes back as an ExecutionResult with its
// outcome.

import type { BackendName, ExecutionResult, Language, OutputStream, ResolvedLimits } from '@airlock/protocol';
import type { WarmPoolStats } from './container/warm-pool.ts';
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
  /** The template whose image runs the job (container backends); absent: the language's default image. */
  template?: string | undefined;
  /** Wall-clock limit of the template's compile step (also its CPU limit). @default 30000 */
  compileWallTimeMs?: number | undefined;
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
  /** The template that serves the language on this backend by default (containers only; absent: the isolate). */
  template?: string;
}

export interface Sandbox {
  readonly backend: BackendName;
  readonly languages: readonly Language[];
  runtimes(): RuntimeInfo[];
  run(job: SandboxJob, options: SandboxRunOptions): Promise<ExecutionResult>;
  /** Its warm pools now (containers waiting, target, hits, misses); absent for a backend without one. */
  pools?(): WarmPoolStats[];
  /** Stops accepting jobs, ends running ones, and releases every process or container it started. */
  close(): Promise<void>;
}

/** What a session is opened with: the interpreter's language and the session's limits. */
export interface SessionSpec {
  sessionId: string;
  language: Language;
  /** The template whose image the session's sandbox starts from (container backends); absent: the default. */
  template?: string | undefined;
  /** memory_mb bounds the whole session (its container or host process); the rest are per-cell defaults. */
  limits: ResolvedLimits;
}

/** One cell of a session: code run in the interpreter that lives across cells. */
export interface CellJob {
  executionId: string;
  code: string;
  /** Written into the session's working folder before the cell runs; they stay there. */
  files: SandboxFile[];
  stdin: string;
  limits: ResolvedLimits;
}

/** Why a session ended by itself (not closed by its owner). */
export type SessionEnd = 'interpreter_exited' | 'memory_limit' | 'cell_timeout' | 'protocol_violation';

/** One entry of a session folder listing (links are listed as links, never followed). */
export interface SessionFileEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  /** ISO time of the last modification. */
  mtime: string;
}

/**
 * The files of a session's working folder, moved in and out between (or beside) cells. Paths are relative to
 * the working folder and already validated (the protocol's FilePath); no link is ever followed and only regular
 * files are read or written. Failures are AirlockErrors (`file_not_found`, `file_not_regular`,
 * `payload_too_large`, `session_storage_full`).
 */
export interface SessionFiles {
  write(path: string, content: Uint8Array): Promise<void>;
  read(path: string, maxBytes: number): Promise<Buffer>;
  /** The folder's entries (`.` for the working folder itself), at most maxEntries of them. */
  list(path: string, maxEntries: number): Promise<{ entries: SessionFileEntry[]; truncated: boolean }>;
  /** Removes a file, a link (not what it points to) or an empty folder. */
  remove(path: string): Promise<void>;
}

/**
 * The lease on one open session: its sandbox keeps the interpreter between cells. run() never throws for
 * anything the guest does; cells run one at a time. After `ended` settles (or close()), run() answers without
 * running anything.
 */
export interface SessionLease {
  readonly id: string;
  /** Settles when the session's sandbox ends by itself, with why; never rejects. */
  readonly ended: Promise<SessionEnd>;
  run(cell: CellJob, options: SandboxRunOptions): Promise<ExecutionResult>;
  /** The working folder's files; absent when the backend has no files API (isolate sessions). */
  readonly files?: SessionFiles | undefined;
  /** Destroys the session's sandbox (release of the lease); idempotent. */
  close(): Promise<void>;
  /**
   * Writes the session's image (interpreter memory and working folder) into `folder`, between cells, and ends
   * the lease: its sandbox is gone afterwards (`ended` does not settle; restore the image to go on). Absent on
   * backends that cannot (SessionBackend.snapshotUnsupported says why).
   */
  checkpoint?(folder: string): Promise<SessionKernelState>;
}

/** What the host needs, beside the image, to speak to a restored interpreter (kept with the image, 0600). */
export interface SessionKernelState {
  /** The host channel key of the interpreter (hex). */
  key: string;
  /** The number of the last cell it was sent. */
  turn: number;
}

/** A session image to restore: the folder checkpoint() wrote, verified by the caller, and its kernel state. */
export interface SessionImage {
  folder: string;
  kernel: SessionKernelState;
}

/** A backend that opens sessions, each in a long-lived sandbox of its own, beside its one-shot Sandbox. */
export interface SessionBackend {
  readonly backend: BackendName;
  readonly languages: readonly Language[];
  /** Starts a session's sandbox and resolves when its interpreter is ready. Throws when it cannot start. */
  open(spec: SessionSpec): Promise<SessionLease>;
  /** Why this backend's sessions cannot be snapshotted here, or null when they can (restore() then exists). */
  snapshotUnsupported(): Promise<string | null>;
  /** Starts a session's sandbox from an image of one of this backend's sessions; its interpreter goes on. */
  restore?(spec: SessionSpec, image: SessionImage): Promise<SessionLease>;
  /** Destroys every open session's sandbox and refuses new ones. */
  close(): Promise<void>;
}
