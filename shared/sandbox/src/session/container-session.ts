// One python session in one hardened container (docker = runc, gvisor = runsc): the python image runs the session
// kernel (sandbox-images/python/kernel.py) instead of the one-shot runner, and the kernel's interpreter lives
// until the session is closed. A cell is one line on the kernel's stdin and one frame back. The wall-time limit
// interrupts the cell (SIGINT → KeyboardInterrupt); a kernel that does not answer within the grace is killed,
// and so is the session. It must never run two cells at once, never trust a frame beyond its schema and size
// bound, and never leave its container behind after close() (removal is awaited, then retried in background).

import { type ExecutionResult, emptyResult } from '@airlock/protocol';
import type Dockerode from 'dockerode';
import { type AttachedContainer, startContainer, withDeadline } from '../container/attached-container.ts';
import type { ContainerRemovals } from '../container/container-removals.ts';
import { type ContainerRuntime, containerSpec } from '../container/container-spec.ts';
import { readMemoryPeak } from '../container/memory-peak.ts';
import type { SandboxRunOptions, SandboxSession, SessionCell, SessionEnd, SessionSpec } from '../sandbox.ts';
import {
  encodeCell,
  type KernelFrame,
  KernelFrameReader,
  type KernelProtocolError,
  type KernelResult,
} from './kernel-protocol.ts';
import { sessionExit } from './session-exit.ts';

export const KERNEL_COMMAND = ['python3', '-I', '-u', '/opt/airlock/kernel.py'];

export interface ContainerSessionContext {
  docker: Dockerode;
  /** The python image tag. */
  image: string;
  runtime: ContainerRuntime;
  backend: 'docker' | 'gvisor';
  /** Label `airlock.instance` of the owning ContainerSessions. */
  instance: string;
  removals: ContainerRemovals;
  cgroupMemoryRoot: string;
  dockerTimeoutMs: number;
  /** How long the kernel may take to come up. */
  startTimeoutMs: number;
  /** How long an interrupted cell may take to answer before the session is killed. */
  interruptGraceMs: number;
}

/** Room for JSON escaping and the frame's own fields around a cell's capped output. */
const frameBound = (outputBytes: number) => outputBytes * 6 + 1024 * 1024;

type CellEnd =
  | { kind: 'frame'; frame: KernelResult }
  | { kind: 'exited' }
  | { kind: 'broken'; reason: string }
  | { kind: 'canceled'; reason: string };

export async function openContainerSession(
  spec: SessionSpec,
  context: ContainerSessionContext,
): Promise<ContainerSession> {
  const container = await startContainer({
    docker: context.docker,
    spec: containerSpec({
      image: context.image,
      runtime: context.runtime,
      backend: context.backend,
      profile: { memoryMb: spec.limits.memory_mb },
      instance: context.instance,
      session: { id: spec.sessionId, command: KERNEL_COMMAND },
    }),
    timeoutMs: context.dockerTimeoutMs,
    discard: (c) => context.removals.remove(c),
  });
  const session = new ContainerSession(spec.sessionId, container, context);
  try {
    await session.ready();
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

export class ContainerSession implements SandboxSession {
  readonly id: string;
  readonly ended: Promise<SessionEnd>;
  readonly #container: AttachedContainer;
  readonly #context: ContainerSessionContext;
  readonly #reader: KernelFrameReader;
  #ready: (frame: KernelFrame | Error) => void = () => {};
  #cellEnd: ((end: CellEnd) => void) | null = null;
  #stderrTail = '';
  #closed = false;
  #running = false;
  #endedBy: SessionEnd | null = null;
  #setEnded: (end: SessionEnd) => void = () => {};

  constructor(id: string, container: AttachedContainer, context: ContainerSessionContext) {
    this.id = id;
    this.#container = container;
    this.#context = context;
    this.ended = new Promise<SessionEnd>((resolve) => {
      this.#setEnded = resolve;
    });
    this.#reader = new KernelFrameReader(frameBound(1024 * 1024), (frame) => this.#onFrame(frame));
    container.listen((stream, payload) => {
      if (stream === 'stderr') {
        // Only the kernel's own failures reach the container's stderr (cells' fd 2 is captured per cell).
        this.#stderrTail = (this.#stderrTail + payload.toString('utf8')).slice(-2048);
        return;
      }
      try {
        this.#reader.push(payload);
      } catch (error) {
        this.#broken((error as KernelProtocolError).message);
      }
    });
    void container.ended.then(() => this.#onContainerEnded());
  }

  /** Resolves when the kernel has said it is ready; rejects when it did not within the start timeout. */
  ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#ready(
            new Error(`the session kernel was not ready within ${this.#context.startTimeoutMs} ms`),
          ),
        this.#context.startTimeoutMs,
      );
      this.#ready = (frame) => {
        clearTimeout(timer);
        this.#ready = () => {};
        if (frame instanceof Error) reject(frame);
        else if (frame.type === 'ready') resolve();
        else reject(new Error(`the session kernel answered ${frame.type} instead of ready`));
      };
    });
  }

  async run(cell: SessionCell, options: SandboxRunOptions): Promise<ExecutionResult> {
    if (this.#closed || this.#endedBy !== null) return emptyResult('rejected', 'the session has ended');
    if (this.#running) return emptyResult('rejected', 'a cell of this session is still running');
    this.#running = true;
    const startedAt = performance.now();
    const wallMs = () => Math.round(performance.now() - startedAt);
    const limits = cell.limits;
    let interrupted = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const end = new Promise<CellEnd>((resolve) => {
      this.#cellEnd = resolve;
    });
    const deadline = setTimeout(() => {
      interrupted = true;
      void this.#interrupt();
      graceTimer = setTimeout(() => {
        this.#endedBy ??= 'cell_timeout';
        this.#cellEnd?.({ kind: 'exited' });
        void this.#container.kill(this.#context.dockerTimeoutMs);
      }, this.#context.interruptGraceMs);
    }, limits.wall_time_ms);
    const onAbort = () => this.#cellEnd?.({ kind: 'canceled', reason: abortReason(options.signal) });
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) onAbort();
    try {
      this.#reader.allow(frameBound(limits.output_bytes));
      this.#container.write(encodeCell(cell)).catch(() => {});
      const outcome = await end;
      const peak = await readMemoryPeak(this.#context.cgroupMemoryRoot, this.#container.id);
      return await this.#verdict(outcome, { interrupted, wallMs: wallMs(), peak, limits });
    } finally {
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      options.signal.removeEventListener('abort', onAbort);
      this.#cellEnd = null;
      this.#running = false;
      if (this.#endedBy !== null && !this.#closed) {
        // A cell that ended the session (canceled, killed, broken): its container goes now.
        await this.#destroy();
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cellEnd?.({ kind: 'canceled', reason: 'the session was closed' });
    await this.#destroy();
  }

  async #verdict(
    end: CellEnd,
    facts: { interrupted: boolean; wallMs: number; peak: number | null; limits: SessionCell['limits'] },
  ): Promise<ExecutionResult> {
    const { interrupted, wallMs, peak, limits } = facts;
    const timeoutReason = `wall time limit of ${limits.wall_time_ms} ms exceeded`;
    switch (end.kind) {
      case 'frame': {
        const f = end.frame;
        const outcome = interrupted
          ? 'timeout'
          : f.status === 'output_limit'
            ? 'output_limit'
            : f.status === 'ok'
              ? 'success'
              : f.status === 'interrupted'
                ? 'canceled'
                : 'error';
        const reason =
          outcome === 'timeout'
            ? `${timeoutReason}; the cell was interrupted and the session kept`
            : outcome === 'output_limit'
              ? `output exceeded the limit of ${limits.output_bytes} bytes`
              : outcome === 'canceled'
                ? 'the cell was interrupted'
                : null;
        return {
          outcome,
          exit_code: outcome === 'success' || outcome === 'error' ? f.exit_code : null,
          signal: null,
          stdout: f.stdout,
          stderr: f.stderr,
          truncated: f.truncated,
          usage: { cpu_ms: f.cpu_ms, wall_ms: wallMs, memory_peak_bytes: peak },
          reason,
          display: f.display,
          value: f.value,
          exception: f.exception,
        };
      }
      case 'exited': {
        if (this.#endedBy === 'cell_timeout' || interrupted) {
          this.#endedBy ??= 'cell_timeout';
          const result = emptyResult(
            'timeout',
            `${timeoutReason}; the cell did not stop when interrupted, so the session was closed`,
            wallMs,
          );
          return { ...result, signal: 'SIGKILL' };
        }
        const exit = await sessionExit(
          this.#context.docker,
          this.#container.container,
          this.#context.dockerTimeoutMs,
        );
        if (exit.oomKilled) {
          this.#endedBy = 'memory_limit';
          const result = emptyResult(
            'memory_limit',
            `memory limit of ${limits.memory_mb} MB exceeded`,
            wallMs,
          );
          return {
            ...result,
            signal: 'SIGKILL',
            usage: { ...result.usage, memory_peak_bytes: peak ?? limits.memory_mb * 1024 * 1024 },
          };
        }
        this.#endedBy = 'interpreter_exited';
        const result = emptyResult(
          'error',
          `the interpreter exited during the cell (${exit.description})`,
          wallMs,
        );
        return { ...result, exit_code: exit.exitCode, stderr: this.#stderrTail };
      }
      case 'broken':
        this.#endedBy ??= 'interpreter_exited';
        return emptyResult('internal_error', `the session kernel failed: ${end.reason}`, wallMs);
      case 'canceled':
        this.#endedBy ??= 'interpreter_exited';
        return emptyResult('canceled', end.reason, wallMs);
    }
  }

  #onFrame(frame: KernelFrame): void {
    if (frame.type === 'ready') {
      this.#ready(frame);
      return;
    }
    if (frame.type === 'result' && this.#cellEnd) {
      this.#cellEnd({ kind: 'frame', frame });
      return;
    }
    this.#broken(`unexpected ${frame.type} frame from the session kernel`);
  }

  #broken(reason: string): void {
    this.#ready(new Error(reason));
    this.#endedBy ??= 'interpreter_exited';
    if (this.#cellEnd) this.#cellEnd({ kind: 'broken', reason });
    void this.#container.kill(this.#context.dockerTimeoutMs);
  }

  async #onContainerEnded(): Promise<void> {
    this.#ready(new Error(`the session kernel exited before it was ready: ${this.#stderrTail.trim()}`));
    if (this.#cellEnd) {
      this.#cellEnd({ kind: 'exited' });
      return; // run() settles #endedBy and destroys the container.
    }
    if (this.#closed) return;
    if (this.#endedBy === null) {
      const exit = await sessionExit(
        this.#context.docker,
        this.#container.container,
        this.#context.dockerTimeoutMs,
      );
      this.#endedBy = exit.oomKilled ? 'memory_limit' : 'interpreter_exited';
    }
    await this.#destroy();
  }

  /** SIGINT to the kernel (pid 1 of the container, which handles it). */
  async #interrupt(): Promise<void> {
    try {
      await withDeadline(
        this.#container.container.kill({ signal: 'SIGINT' }),
        this.#context.dockerTimeoutMs,
        'kill -INT',
      );
    } catch {
      // Not running any more: the cell ends by the stream ending.
    }
  }

  async #destroy(): Promise<void> {
    if (this.#endedBy !== null) this.#setEnded(this.#endedBy);
    this.#closed = true;
    await this.#container.kill(this.#context.dockerTimeoutMs);
    try {
      await withDeadline(
        this.#container.container.remove({ force: true, v: true }),
        this.#context.dockerTimeoutMs,
        'remove',
      );
    } catch (error) {
      if (!/no such container|404|already in progress/i.test(String(error))) {
        this.#context.removals.remove(this.#container.container);
      }
    }
  }
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string' && reason.length > 0) return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'canceled by the caller';
}
