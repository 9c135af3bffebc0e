// The lease on one python session in one hardened container (docker = runc, gvisor = runsc): the python image runs
// the session kernel (sandbox-images/python/kernel.py, pid 1) instead of the one-shot runner; it keeps a cell
// interpreter until the session is closed. The host writes the session key, then one frame per cell, and believes
// nothing of the kernel's stdout but verified frames: exactly one result per cell, naming that cell, within its
// output cap as counted here (cell-result.ts); CPU time comes from the container's cgroup, never from a frame.
// Anything else ends the cell `internal_error` ("session protocol violated") and the session with its container.
// The wall-time limit interrupts the cell (SIGINT, forwarded to the interpreter); a kernel that does not answer
// within the grace is killed, and so is the session. The out/ files a cell wrote come back in its result, and
// the working folder is reachable through the files API (container-session-files.ts, by `docker exec`). Opening
// one: open-container-session.ts. It must never run two cells at once, and never leave its container behind after
// close() (removal is awaited, then retried in background).

import { type ExecutionResult, emptyResult } from '@airlock/protocol';
import { cancelReason } from '../../cancel-reason.ts';
import type {
  CellJob,
  SandboxRunOptions,
  SessionEnd,
  SessionKernelState,
  SessionLease,
} from '../../sandbox.ts';
import { type AttachedContainer, withDeadline } from '../attached-container.ts';
import { containerExit } from '../container-exit.ts';
import { readMemoryPeak } from '../memory-peak.ts';
import { type AcceptedCell, acceptResult, answeredResult, type CellFacts } from './cell-result.ts';
import { cpuMsBetween, readCpuNs } from './cgroup-cpu.ts';
import { type ContainerSessionContext, PROTOCOL_VIOLATED } from './container-session-context.ts';
import { ContainerSessionFiles } from './container-session-files.ts';
import {
  encodeCell,
  encodeRekey,
  type KernelFrame,
  KernelFrameReader,
  KernelProtocolError,
  keyLine,
  newSessionKey,
} from './kernel-protocol.ts';
import { checkpointContainer, makeRoomToSave } from './runsc-checkpoint.ts';

/** Bounds of the out/ files a cell's result carries: those of a one-shot run. */
const OUT_FILES = { maxFiles: 256, maxBytes: 16 * 1024 * 1024 };

/** Room for base64, JSON escaping and the frame's own fields around a cell's capped output. */
const frameBound = (outputBytes: number) => outputBytes * 6 + 2 * 1024 * 1024;

type CellEnd =
  | { kind: 'frame'; accepted: AcceptedCell }
  | { kind: 'exited' }
  | { kind: 'violated' }
  | { kind: 'canceled'; reason: string };

export class ContainerSessionLease implements SessionLease {
  readonly id: string;
  readonly ended: Promise<SessionEnd>;
  /** The working folder's files (the files API; a cell's out/ files). */
  readonly files: ContainerSessionFiles;
  readonly #container: AttachedContainer;
  readonly #context: ContainerSessionContext;
  #key: Buffer;
  readonly #reader: KernelFrameReader;
  #ready: (frame: KernelFrame | Error) => void = () => {};
  /** The running cell, whether its result has come, and how run() learns its end. */
  #cell: CellJob | null = null;
  #answered = false;
  #cellEnd: ((end: CellEnd) => void) | null = null;
  #turn = 0;
  #stderrTail = '';
  /** Bytes the kernel wrote to the host channel so far (said when it is not ready in time). */
  #received = 0;
  #closed = false;
  #destroying: Promise<void> | null = null;
  /** Set while the container is being checkpointed: its exit then ends nothing. */
  #checkpointing = false;
  #endedBy: SessionEnd | null = null;
  #setEnded: (end: SessionEnd) => void = () => {};

  constructor(
    id: string,
    container: AttachedContainer,
    context: ContainerSessionContext,
    restored?: SessionKernelState,
  ) {
    this.id = id;
    this.#key = restored === undefined ? newSessionKey() : Buffer.from(restored.key, 'hex');
    this.#turn = restored?.turn ?? 0;
    this.#container = container;
    this.#context = context;
    this.files = new ContainerSessionFiles(container.container, context.dockerTimeoutMs);
    this.ended = new Promise<SessionEnd>((resolve) => {
      this.#setEnded = resolve;
    });
    this.#reader = new KernelFrameReader(this.#key, frameBound(1024 * 1024), (frame) => this.#onFrame(frame));
    container.listen((stream, payload) => {
      if (stream === 'stderr') {
        // The kernel's own failures (start-up); never part of a cell's result.
        this.#stderrTail = (this.#stderrTail + payload.toString('utf8')).slice(-2048);
        return;
      }
      this.#received += payload.length;
      try {
        this.#reader.push(payload);
      } catch (error) {
        this.#violated(error instanceof KernelProtocolError ? error.message : String(error));
      }
    });
    void container.ended.then(() => this.#onContainerEnded());
  }

  /** Sends the session key; resolves when the kernel has said it is ready, rejects when it did not in time. */
  ready(): Promise<void> {
    return this.#handshake(keyLine(this.#key));
  }

  /**
   * Gives a kernel restored from a ready-made image (checkpointed under a key that was never a session's) a fresh
   * key of its own, its cells counted from 1; resolves when it answered ready under the new key.
   */
  rekey(): Promise<void> {
    const next = newSessionKey();
    const frame = encodeRekey(this.#key, next);
    this.#key = next;
    this.#turn = 0;
    this.#reader.rekey(next);
    return this.#handshake(frame);
  }

  #handshake(sent: Buffer): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#ready(
            new Error(
              `the session kernel was not ready within ${this.#context.startTimeoutMs} ms ` +
                `(${this.#received} bytes received, stream ${this.#container.isEnded ? 'ended' : 'open'}` +
                `${this.#stderrTail.trim() ? `, stderr: ${this.#stderrTail.trim().slice(-300)}` : ''})`,
            ),
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
    this.#container.write(sent).catch(() => {});
    return ready;
  }

  async run(cell: CellJob, options: SandboxRunOptions): Promise<ExecutionResult> {
    if (this.#closed || this.#endedBy !== null) return emptyResult('rejected', 'the session has ended');
    if (this.#cell !== null) return emptyResult('rejected', 'a cell of this session is still running');
    this.#cell = cell;
    this.#answered = false;
    this.#turn += 1;
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
    const onAbort = () => this.#cellEnd?.({ kind: 'canceled', reason: cancelReason(options.signal) });
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.signal.aborted) onAbort();
    try {
      this.#reader.allow(frameBound(limits.output_bytes));
      const { cgroupCpuRoot, cgroupMemoryRoot } = this.#context;
      const cpuBefore = await readCpuNs(cgroupCpuRoot, this.#container.id);
      // Files in out/ modified from here on are the cell's (the sandbox clock is the host's).
      const sentAtMs = Date.now() - 2;
      this.#container.write(encodeCell(this.#key, cell, this.#turn)).catch(() => {});
      const outcome = await end;
      const [peak, cpuAfter] = await Promise.all([
        readMemoryPeak(cgroupMemoryRoot, this.#container.id),
        readCpuNs(cgroupCpuRoot, this.#container.id),
      ]);
      const cpuMs = cpuMsBetween(cpuBefore, cpuAfter);
      const result = await this.#verdict(outcome, { interrupted, wallMs: wallMs(), peak, cpuMs, limits });
      // No out/ folder, no output files: the agent (a `docker exec`) is spared. A cell that lies here only
      // loses its own files.
      if (outcome.kind !== 'frame' || !outcome.accepted.outFolder || this.#endedBy !== null) return result;
      const files = await this.files.collectOut(sentAtMs, OUT_FILES).catch((err: unknown) => {
        this.#context.logger?.warn({ err, session: this.id }, 'collecting a cell’s out/ files failed');
        return [];
      });
      return files.length > 0 ? { ...result, files } : result;
    } finally {
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      options.signal.removeEventListener('abort', onAbort);
      this.#cellEnd = null;
      this.#cell = null;
      if (this.#endedBy !== null && !this.#closed) {
        // A cell that ended the session (canceled, killed, protocol broken): its container goes now.
        await this.#destroy();
      }
    }
  }

  /** The last bytes the kernel wrote to its stderr (start-up failures). */
  get stderrTail(): string {
    return this.#stderrTail.trim().slice(-300);
  }

  async checkpoint(folder: string): Promise<SessionKernelState> {
    const options = this.#context.checkpoint;
    if (options === undefined) throw new Error(`the ${this.#context.backend} backend cannot checkpoint`);
    if (this.#closed || this.#endedBy !== null) throw new Error('the session has ended');
    if (this.#cell !== null) throw new Error('a cell of this session is still running');
    this.#checkpointing = true;
    try {
      await makeRoomToSave(this.#container, this.#context);
      await checkpointContainer(this.#container.id, folder, options, this.#context.dockerTimeoutMs);
    } catch (error) {
      this.#checkpointing = false;
      if (this.#container.isEnded) await this.#onContainerEnded();
      throw error;
    }
    this.#closed = true;
    await withDeadline(this.#container.ended, this.#context.dockerTimeoutMs, 'exit after checkpoint').catch(
      () => {},
    );
    await this.#destroy();
    return { key: this.#key.toString('hex'), turn: this.#turn };
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#cellEnd?.({ kind: 'canceled', reason: 'the session was closed' });
    }
    await this.#destroy();
  }

  async #verdict(end: CellEnd, facts: CellFacts): Promise<ExecutionResult> {
    const { interrupted, wallMs, peak, cpuMs, limits } = facts;
    const timeoutReason = `wall time limit of ${limits.wall_time_ms} ms exceeded`;
    switch (end.kind) {
      case 'frame':
        return answeredResult(end.accepted, { interrupted, wallMs, peak, cpuMs, limits });
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
        const exit = await containerExit(
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
        return { ...result, exit_code: exit.exitCode };
      }
      case 'violated':
        this.#endedBy ??= 'protocol_violation';
        return {
          ...emptyResult('internal_error', PROTOCOL_VIOLATED, wallMs),
          display: [],
          value: null,
          exception: null,
        };
      case 'canceled':
        this.#endedBy ??= 'interpreter_exited';
        return emptyResult('canceled', end.reason, wallMs);
    }
  }

  #onFrame(frame: KernelFrame): void {
    switch (frame.type) {
      case 'ready':
        this.#ready(frame);
        return;
      case 'violation':
        this.#violated(`the kernel reported: ${frame.detail}`);
        return;
      case 'result': {
        const cell = this.#cell;
        if (cell === null || this.#cellEnd === null || this.#answered) {
          this.#violated('a result when none was due');
          return;
        }
        let accepted: AcceptedCell;
        try {
          accepted = acceptResult(frame, cell);
        } catch (error) {
          this.#violated(error instanceof Error ? error.message : String(error));
          return;
        }
        this.#answered = true;
        this.#cellEnd({ kind: 'frame', accepted });
      }
    }
  }

  /** The protocol was broken: the running cell ends `internal_error`, the session and its container go. */
  #violated(detail: string): void {
    this.#context.logger?.warn({ session: this.id, detail }, PROTOCOL_VIOLATED);
    this.#ready(new Error(`${PROTOCOL_VIOLATED}: ${detail}`));
    this.#endedBy ??= 'protocol_violation';
    this.#cellEnd?.({ kind: 'violated' });
    void this.#container.kill(this.#context.dockerTimeoutMs);
  }

  async #onContainerEnded(): Promise<void> {
    if (this.#checkpointing) return;
    this.#ready(new Error(`the session kernel exited before it was ready: ${this.#stderrTail.trim()}`));
    if (this.#cellEnd) {
      this.#cellEnd({ kind: 'exited' });
      return; // run() settles #endedBy and destroys the container.
    }
    if (this.#closed) return;
    if (this.#endedBy === null) {
      const exit = await containerExit(
        this.#context.docker,
        this.#container.container,
        this.#context.dockerTimeoutMs,
      );
      this.#endedBy = exit.oomKilled ? 'memory_limit' : 'interpreter_exited';
    }
    await this.#destroy();
  }

  /** SIGINT to the kernel (pid 1 of the container), which passes it to the cell interpreter. */
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

  /** Kills and removes the container, once; every caller waits for the same removal. */
  #destroy(): Promise<void> {
    this.#destroying ??= this.#removeContainer();
    return this.#destroying;
  }

  async #removeContainer(): Promise<void> {
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
