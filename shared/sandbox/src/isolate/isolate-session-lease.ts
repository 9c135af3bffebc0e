// The lease on one JavaScript/TypeScript session on the isolate backend, from the parent's side: a session host
// process (session-host-main.ts) forked for this session alone and supervised like a one-shot host (host-run.ts:
// wall-clock deadline from outside, kill after a grace, crash and OOM turned into results). A crash or
// memory kill of it therefore ends only this session. The host is capped for the session's memory_mb on top of
// its own size once it is ready (see host-memory-cap.ts), so the limit bounds all the session makes it hold.
// The session ends by itself (`ended`) when a cell's isolate had to be disposed (cell_timeout, memory_limit,
// interpreter_exited) or the host process died.
// Must never run two cells at once, and never leave its host process running after close() or its end.

import { cellRunFields, type ExecutionResult, emptyResult } from '@airlock/protocol';
import type { CellJob, SandboxRunOptions, SessionEnd, SessionLease, SessionSpec } from '../sandbox.ts';
import type { MemoryCgroups } from './host-cgroup.ts';
import { type HostSessionEnd, MIN_MEMORY_MB } from './host-messages.ts';
import { type HostRun, runOnHost } from './host-run.ts';
import { type HostExit, IsolateHost } from './isolate-host.ts';

const SESSION_HOST_ENTRY = new URL('./session-host-main.ts', import.meta.url);

export interface IsolateSessionSettings {
  /** How long a host may overrun a cell's deadline (or a cancel) before it is killed. */
  killGraceMs: number;
  /** How long the session host may take to become ready. */
  readyTimeoutMs: number;
  /** Where the session host gets its own memory cgroup (null: the resident-memory watchdog only). */
  cgroups: MemoryCgroups | null;
}

export class IsolateSessionLease implements SessionLease {
  readonly id: string;
  readonly ended: Promise<SessionEnd>;
  readonly #spec: SessionSpec;
  readonly #host: IsolateHost;
  readonly #settings: IsolateSessionSettings;
  readonly #setEnded: (end: SessionEnd) => void;
  #running: HostRun | null = null;
  #endedBy: SessionEnd | null = null;
  #closed = false;
  #dispatches = 0;

  private constructor(spec: SessionSpec, host: IsolateHost, settings: IsolateSessionSettings) {
    this.id = spec.sessionId;
    this.#spec = spec;
    this.#host = host;
    this.#settings = settings;
    const ended = Promise.withResolvers<SessionEnd>();
    this.ended = ended.promise;
    this.#setEnded = ended.resolve;
    void host.exited.then((exit) => this.#hostExited(exit));
  }

  /** Forks the session's host and resolves once its isolate is ready; kills it and throws if it is not. */
  static async open(spec: SessionSpec, settings: IsolateSessionSettings): Promise<IsolateSessionLease> {
    const memoryMb = Math.max(MIN_MEMORY_MB, spec.limits.memory_mb);
    const host = new IsolateHost(memoryMb, { entry: SESSION_HOST_ENTRY, cgroups: settings.cgroups });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the isolate session host was not ready within ${settings.readyTimeoutMs} ms`)),
        settings.readyTimeoutMs,
      );
    });
    try {
      await Promise.race([host.ready, timeout]);
    } catch (error) {
      host.kill();
      await host.exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    host.memory.set(memoryMb);
    return new IsolateSessionLease(spec, host, settings);
  }

  /** The session host's process id. */
  get pid(): number {
    return this.#host.pid;
  }

  /** The session host's memory cap: its cgroup directory and the resident bytes it is held to. */
  get memoryCap(): { cgroup: string | null; capBytes: number } {
    return { cgroup: this.#host.memory.cgroupPath, capBytes: this.#host.memory.capBytes };
  }

  async run(cell: CellJob, options: SandboxRunOptions): Promise<ExecutionResult> {
    if (this.#closed || this.#endedBy !== null) return emptyResult('rejected', 'the session has ended');
    if (this.#running !== null) return emptyResult('rejected', 'a cell of this session is still running');
    this.#dispatches += 1;
    let reported: HostSessionEnd | undefined;
    const run = runOnHost(
      this.#host,
      `${cell.executionId}#${this.#dispatches}`,
      { executionId: cell.executionId, language: this.#spec.language, ...cellRunFields(cell) },
      options,
      {
        killGraceMs: this.#settings.killGraceMs,
        onHostResult: (result) => {
          reported = result.session_end;
        },
      },
    );
    this.#running = run;
    let result: ExecutionResult;
    try {
      result = await run.result;
    } finally {
      this.#running = null;
    }
    const end = reported ?? (this.#host.alive ? null : endOfDeadHost(result));
    if (end !== null && !this.#closed) {
      if (reported === undefined) {
        result = {
          ...result,
          reason: `${result.reason ?? 'the session host ended'}; the session was closed`,
        };
      }
      await this.#end(end);
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#running?.end({ outcome: 'canceled', reason: 'the session was closed' });
    await this.#host.shutdown(this.#settings.killGraceMs);
  }

  /** The session ended by itself: settle `ended` (before run() answers) and stop the host. */
  async #end(end: SessionEnd): Promise<void> {
    this.#endedBy ??= end;
    this.#setEnded(this.#endedBy);
    await this.#host.shutdown(this.#settings.killGraceMs);
  }

  #hostExited(exit: HostExit): void {
    // A cell in flight turns the exit into its result (host-run.ts) and run() ends the session.
    if (this.#closed || this.#running !== null || this.#endedBy !== null) return;
    void this.#end(exit.fatal === 'out-of-memory' ? 'memory_limit' : 'interpreter_exited');
  }
}

function endOfDeadHost(result: ExecutionResult): SessionEnd {
  if (result.outcome === 'memory_limit') return 'memory_limit';
  if (result.outcome === 'timeout') return 'cell_timeout';
  return 'interpreter_exited';
}
