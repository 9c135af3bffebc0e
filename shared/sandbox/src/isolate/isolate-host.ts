// The parent's handle on one isolate host child process: forks it with a minimal environment into its own
// memory cap (see host-memory-cap.ts), waits until it says it is ready, routes its validated messages to the
// job it is running, and reports how it ended. Must never pass the parent's environment or execArgv to the
// child, and never act on an unvalidated message.

import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import type { MemoryCgroups } from './host-cgroup.ts';
import { HostMemoryCap } from './host-memory-cap.ts';
import {
  HOST_FATAL_MARKER,
  type HostFatalKind,
  type HostJob,
  type HostJobResult,
  type OutputChunk,
  parseHostMessage,
} from './host-messages.ts';

const HOST_ENTRY = new URL('./host-main.ts', import.meta.url);
const HOST_EXEC_ARGV = ['--no-node-snapshot', '--disable-warning=ExperimentalWarning'];
const STDERR_TAIL_CHARS = 4096;
const STDERR_DRAIN_MS = 500;

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the host reported a catastrophic isolated-vm error just before it ended. */
  fatal: HostFatalKind | null;
  /** The kernel killed the host because it reached the limit of its memory cgroup. */
  memoryCapped: boolean;
  /** The host's cgroup directory when it could not be removed (else null). */
  cgroupLeft: string | null;
}

export interface IsolateHostOptions {
  /** The host program. @default host-main.ts (the session host passes its own) */
  entry?: URL;
  /** Where the host gets its own memory cgroup; null or unavailable: the resident-memory watchdog only. */
  cgroups?: MemoryCgroups | null;
}

/** Receives what the host reports about the job it is running. */
export interface HostJobListener {
  onOutput(chunks: OutputChunk[]): void;
  onResult(result: HostJobResult): void;
}

export class IsolateHost {
  readonly pid: number;
  /** Resolves with the V8 version once the host can take jobs; rejects if it exits first. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<HostExit>;
  /** The host's memory cap: its cgroup and the resident memory the watchdog holds it to. */
  readonly memory: HostMemoryCap;
  jobsRun = 0;
  /** Resident bytes of the host once it was ready (its own size, before any job). */
  readyResident = 0;
  #gone = false;
  #listener: { id: string; listener: HostJobListener } | null = null;
  /** How the host ended, once it has; and who is still to hear of it (see whenExited). */
  #exit: HostExit | null = null;
  readonly #exitListeners = new Set<(exit: HostExit) => void>();
  #stderrTail = '';
  readonly #child: ChildProcess;

  /**
   * `warmMemoryMb`: the memory limit (MB) the host keeps a prepared isolate ready for (for a session host, the
   * memory limit of its one isolate).
   */
  constructor(warmMemoryMb: number, options: IsolateHostOptions = {}) {
    this.#child = fork(options.entry ?? HOST_ENTRY, [String(warmMemoryMb)], {
      execArgv: HOST_EXEC_ARGV,
      env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    if (this.#child.pid === undefined) throw new Error('isolate host process could not be started');
    this.pid = this.#child.pid;
    this.memory = new HostMemoryCap(this.pid, options.cgroups ?? null, warmMemoryMb);
    const stderrClosed = Promise.withResolvers<void>();
    const stderr = this.#child.stderr;
    if (stderr === null) stderrClosed.resolve();
    else {
      stderr.setEncoding('utf8');
      stderr.on('data', (text: string) => {
        this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_CHARS);
      });
      stderr.on('close', () => stderrClosed.resolve());
    }
    const ready = Promise.withResolvers<string>();
    this.ready = ready.promise;
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#gone = true;
        // Read stderr to its end first (briefly bounded), so a fatal marker written just before the end is seen.
        const drained = Promise.race([stderrClosed.promise, delay(STDERR_DRAIN_MS)]);
        void drained.then(async () => {
          const { killedByKernel, cgroupRemoved } = await this.memory.release();
          const exit: HostExit = {
            code,
            signal,
            fatal: fatalKind(this.#stderrTail),
            memoryCapped: killedByKernel,
            cgroupLeft: cgroupRemoved ? null : this.memory.cgroupPath,
          };
          ready.reject(new Error(`isolate host exited before it was ready (${describeExit(exit)})`));
          this.#exit = exit;
          resolve(exit);
          // After the reactions to `exited` registered before (the pool's), as a `then` on it would be.
          queueMicrotask(() => {
            for (const listener of this.#exitListeners) listener(exit);
            this.#exitListeners.clear();
          });
        });
      });
    });
    // A failed ready promise that nobody awaits must not become an unhandled rejection.
    this.ready.catch(() => {});
    this.#child.on('error', () => {
      // 'exit' follows (or the process never started); both paths are handled there.
    });
    this.#child.on('message', (raw: unknown) => {
      const message = parseHostMessage(raw);
      if (message === null) return;
      if (message.type === 'ready') {
        this.readyResident = this.memory.resident();
        ready.resolve(message.v8);
      } else if (message.id === this.#listener?.id) {
        const { listener } = this.#listener;
        if (message.chunks.length > 0) listener.onOutput(message.chunks);
        if (message.type === 'result') {
          const { type: _type, chunks: _chunks, ...result } = message;
          listener.onResult(result);
        }
      }
    });
  }

  /**
   * Calls `listener` once the host has exited (soon after, if it already has) unless unsubscribed first. Unlike
   * a `then` on `exited`, which holds its callback (and all a job's callback holds) until the host exits, an
   * unsubscribed listener is let go at once: a host runs thousands of jobs.
   */
  whenExited(listener: (exit: HostExit) => void): () => void {
    const exit = this.#exit;
    if (exit !== null) {
      let live = true;
      queueMicrotask(() => {
        if (live) listener(exit);
      });
      return () => {
        live = false;
      };
    }
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  get alive(): boolean {
    return !this.#gone;
  }

  /** How much more the host holds now than when it was ready (bytes). */
  residentGrowth(): number {
    return Math.max(0, this.memory.resident() - this.readyResident);
  }

  /** The last lines the host wrote to stderr (V8 diagnostics on a crash), for logs only. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Sends a job; messages for it go to `listener` until the next job. */
  run(job: HostJob, listener: HostJobListener): void {
    this.jobsRun += 1;
    this.#listener = { id: job.id, listener };
    this.#send({ type: 'run', job });
  }

  cancel(id: string): void {
    this.#send({ type: 'cancel', id });
  }

  /** Stops routing messages for the current job (it ended, one way or another). */
  detach(): void {
    this.#listener = null;
  }

  kill(): void {
    if (this.alive) this.#child.kill('SIGKILL');
  }

  /** Asks the host to exit by closing its IPC channel; kills it if it has not gone after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    if (!this.alive) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #send(message: unknown): void {
    if (this.alive && this.#child.connected) this.#child.send(message as object);
  }
}

function fatalKind(stderr: string): HostFatalKind | null {
  const at = stderr.lastIndexOf(`\n${HOST_FATAL_MARKER}`);
  if (at === -1) return null;
  const kind = stderr.slice(at + HOST_FATAL_MARKER.length + 1).trim();
  return kind === 'out-of-memory' || kind === 'catastrophic' ? kind : null;
}

export function describeExit(exit: HostExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
