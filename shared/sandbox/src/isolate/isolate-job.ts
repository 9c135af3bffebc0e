// Runs one job inside the isolate host, in an isolate prepared for it (see prepared-isolate.ts): begins the
// guest runtime with the job's data, evaluates the job's modules, drives its timers, and ends it on completion,
// uncaught error, exit(), output cap, wall-clock deadline, CPU limit, memory limit or cancel. Must never let the
// isolate outlive its job, never report a busy isolate's result before it is disposed, and never pass a host
// object into it (see guest-bridge.ts).

import type { OutputStream } from '@airlock/protocol';
import { CappedOutput } from './capped-output.ts';
import { type BridgeHandlers, type ReadFileReply, readFileReply } from './guest-bridge.ts';
import { describeGuestError } from './guest-errors.ts';
import { GuestFetches } from './guest-fetches.ts';
import { GuestModules, mainPath } from './guest-modules.ts';
import type { FireTimer } from './guest-runtime.ts';
import { GuestTimers, MAX_PENDING_TIMERS } from './guest-timers.ts';
import { type HostJob, type HostJobResult, MIN_MEMORY_MB, type OutputChunk } from './host-messages.ts';
import { IsolateTasks } from './isolate-tasks.ts';
import { JobMemory } from './job-memory.ts';
import type { PreparedIsolate } from './prepared-isolate.ts';

/** How often the host checks CPU time and resident memory while a job runs (the heap every fifth time). */
const WATCH_INTERVAL_MS = 10;
const HEAP_SAMPLE_EVERY = 5;

type Ending = Pick<HostJobResult, 'outcome' | 'exit_code' | 'reason'>;

export interface IsolateJobOptions {
  /** Streams output while the job runs. */
  sendOutput: (chunks: OutputChunk[]) => void;
  /** Reports the end of the job, with the output not streamed yet; called exactly once. */
  sendResult: (result: HostJobResult, chunks: OutputChunk[]) => void;
}

export class IsolateJob {
  readonly #job: HostJob;
  readonly #options: IsolateJobOptions;
  readonly #output: CappedOutput;
  readonly #timers: GuestTimers;
  /** Egress (issue #4): the job's guest fetches, through its egress proxy when it has one. */
  readonly #fetches: GuestFetches;
  readonly #files = new Map<string, Uint8Array>();
  readonly #startedAt = performance.now();
  readonly #over = Promise.withResolvers<void>();
  #isolate: PreparedIsolate | null = null;
  #arrived: Promise<unknown> = Promise.resolve();
  #ending: Ending | null = null;
  readonly #tasks = new IsolateTasks();
  #entryDone = false;
  #fireTimer: FireTimer | null = null;
  #cpuBase = 0n;
  #cpuMs: number | null = null;
  #memory: JobMemory | null = null;
  #watchTicks = 0;
  #deadline: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(job: HostJob, options: IsolateJobOptions) {
    this.#job = job;
    this.#options = options;
    this.#output = new CappedOutput(job.limits.output_bytes, options.sendOutput);
    this.#timers = new GuestTimers((id) => this.#fire(id));
    this.#fetches = new GuestFetches(job.egressProxy, (id) => this.#fetchReady(id));
    for (const file of job.files) this.#files.set(file.path, file.content);
    this.#files.set(mainPath(job.language), Buffer.from(job.code, 'utf8'));
  }

  get id(): string {
    return this.#job.id;
  }

  /** The isolate's heap limit for this job. */
  get memoryMb(): number {
    return Math.max(MIN_MEMORY_MB, this.#job.limits.memory_mb);
  }

  /** Runs the job in `isolate` (which it owns from now on); resolves once the result is sent and the isolate gone. */
  run(isolate: Promise<PreparedIsolate>): Promise<void> {
    const { wall_time_ms } = this.#job.limits;
    this.#deadline = setTimeout(
      () =>
        this.#finish({
          outcome: 'timeout',
          exit_code: null,
          reason: `wall time limit of ${wall_time_ms} ms exceeded`,
        }),
      wall_time_ms,
    );
    this.#watchdog = setInterval(() => this.#watch(), WATCH_INTERVAL_MS);
    this.#arrived = isolate.then(
      (prepared) => this.#begin(prepared),
      (error: unknown) => this.#setupFailed(`could not create an isolate: ${messageOf(error)}`),
    );
    return this.#over.promise;
  }

  cancel(): void {
    this.#finish({ outcome: 'canceled', exit_code: null, reason: 'canceled by the caller' });
  }

  #begin(prepared: PreparedIsolate): void {
    if (this.#ending !== null) {
      prepared.dispose();
      return;
    }
    this.#isolate = prepared;
    // What the host holds from here on is the job's doing (its isolate is already made).
    this.#memory = new JobMemory(prepared.memoryMb);
    try {
      this.#cpuBase = prepared.isolate.cpuTime;
      this.#fireTimer = prepared.begin(this.#handlers(), {
        stdin: this.#job.stdin,
        args: this.#job.args,
        env: this.#job.env,
        outputBytes: this.#job.limits.output_bytes,
        maxTimers: MAX_PENDING_TIMERS,
        memoryBytes: this.#memory.limitBytes,
      });
    } catch (error) {
      if (prepared.disposed) this.#memoryExceeded();
      else this.#setupFailed(`isolate setup failed: ${messageOf(error)}`);
      return;
    }
    this.#track(this.#evaluate(prepared));
  }

  async #evaluate(prepared: PreparedIsolate): Promise<void> {
    const modules = new GuestModules(prepared.isolate, this.#job);
    const entry = await modules.link(prepared.context, prepared.entry);
    if (this.#ending === null) await entry.evaluate();
  }

  #setupFailed(reason: string): void {
    this.#finish({ outcome: 'internal_error', exit_code: null, reason });
  }

  #handlers(): BridgeHandlers {
    return {
      write: (stream, text) => this.#write(stream, text),
      timerStart: (id, delay, ref) => this.#ending === null && this.#timers.start(id, delay, ref),
      timerClear: (id) => this.#timers.clear(id),
      timerRef: (id, ref) => this.#timers.setRef(id, ref),
      uncaught: (text) => {
        if (this.#ending !== null) return;
        this.#output.write('stderr', `${text}\n`);
        this.#finish({ outcome: 'error', exit_code: 1, reason: null }, true);
      },
      exit: (code) =>
        this.#finish({ outcome: code === 0 ? 'success' : 'error', exit_code: code, reason: null }, true),
      entryDone: () => {
        this.#entryDone = true;
      },
      readFile: (path, asText) => this.#readFile(path, asText),
      fetchStart: (id, method, url, headers, body, redirect) =>
        this.#ending === null
          ? this.#fetches.start(id, method, url, headers, body, redirect)
          : 'the job has ended',
      fetchTake: (id) => this.#fetches.take(id),
    };
  }

  #write(stream: OutputStream, text: string): boolean {
    if (this.#ending !== null) return false;
    if (this.#output.write(stream, text)) return true;
    const cap = this.#job.limits.output_bytes;
    this.#finish({
      outcome: 'output_limit',
      exit_code: null,
      reason: `output exceeded the limit of ${cap} bytes`,
    });
    return false;
  }

  #readFile(path: string, asText: boolean): ReadFileReply {
    return readFileReply(this.#files, path, asText);
  }

  /** Counts a task running in the isolate (linking, evaluation, a timer); the job is idle at zero. */
  #track(task: Promise<unknown>): void {
    this.#tasks.track(
      task,
      () => this.#checkIdle(),
      (error) => this.#taskFailed(error),
    );
  }

  #fire(id: number): void {
    if (this.#ending !== null || this.#fireTimer === null) return;
    this.#track(this.#fireTimer.apply(undefined, [id]));
  }

  /** A fetch reply is ready: the guest learns it through its timer entry point, as id `-id`. */
  #fetchReady(id: number): void {
    const fireTimer = this.#fireTimer;
    if (this.#ending !== null || fireTimer === null) return;
    this.#track(fireTimer.apply(undefined, [-id]).finally(() => this.#fetches.take(id)));
  }

  #taskFailed(error: unknown): void {
    if (this.#ending !== null) return;
    if (this.#isolate?.disposed) {
      this.#memoryExceeded();
      return;
    }
    this.#output.write('stderr', `${describeGuestError(error)}\n`);
    this.#finish({ outcome: 'error', exit_code: 1, reason: null });
  }

  #memoryExceeded(): void {
    this.#finish(this.#memoryEnding());
  }

  #memoryEnding(): Ending {
    return {
      outcome: 'memory_limit',
      exit_code: null,
      reason: `memory limit of ${this.memoryMb} MB exceeded`,
    };
  }

  #checkIdle(): void {
    if (this.#ending !== null || this.#tasks.count > 0 || this.#timers.refCount > 0) return;
    if (this.#fetches.pending > 0) return;
    if (this.#entryDone) {
      this.#finish({ outcome: 'success', exit_code: 0, reason: null });
      return;
    }
    this.#output.write(
      'stderr',
      'Warning: Detected unsettled top-level await: the main module never finished\n',
    );
    this.#finish({ outcome: 'error', exit_code: 13, reason: null });
  }

  #readCpu(prepared: PreparedIsolate): number {
    this.#cpuMs = Number(prepared.isolate.cpuTime - this.#cpuBase) / 1e6;
    return this.#cpuMs;
  }

  #watch(): void {
    const prepared = this.#isolate;
    if (prepared === null || prepared.disposed) return;
    const { cpu_time_ms } = this.#job.limits;
    if (this.#readCpu(prepared) > cpu_time_ms) {
      this.#finish({
        outcome: 'timeout',
        exit_code: null,
        reason: `cpu time limit of ${cpu_time_ms} ms exceeded`,
      });
      return;
    }
    const memory = this.#memory;
    if (memory === null) return;
    if (memory.sampleResident()) {
      this.#memoryExceeded();
      return;
    }
    this.#watchTicks += 1;
    if (this.#watchTicks % HEAP_SAMPLE_EVERY === 1) {
      memory.sampleHeap(prepared.isolate);
    }
  }

  /**
   * Ends the job once: stops its timers, then settles (result and disposal). When the guest ends the job
   * (success, error) while its isolate runs nothing, or from inside a bridge callback (`inGuestCall`), a last
   * memory sample is taken: a job that went over its memory on the way out ends with memory_limit.
   */
  #finish(proposed: Ending, inGuestCall = false): void {
    if (this.#ending !== null) return;
    const idle = this.#tasks.count === 0;
    const prepared = this.#isolate;
    const failed = proposed.outcome === 'error';
    const byGuest = proposed.outcome === 'success' || failed;
    const canSample = byGuest && (idle || inGuestCall) && prepared !== null;
    const overMemory = canSample && this.#memory?.overAtEnd(prepared.isolate, failed) === true;
    const ending = overMemory ? this.#memoryEnding() : proposed;
    this.#ending = ending;
    clearTimeout(this.#deadline);
    clearInterval(this.#watchdog);
    this.#timers.close();
    this.#fetches.close();
    void this.#settle(ending, idle);
  }

  /**
   * An idle isolate runs nothing and cannot start anything (its timers are closed), so its result goes out at
   * once and it is disposed right after, off the critical path. A busy one is disposed first, only after the
   * bridge callback that may have ended the job has returned, and the result waits until its thread has
   * stopped: until then the job still holds its memory, and the parent still holds the host to its cap.
   */
  async #settle(ending: Ending, idle: boolean): Promise<void> {
    const prepared = this.#isolate;
    if (prepared !== null && !prepared.disposed) {
      this.#readCpu(prepared);
      if (!idle) {
        await new Promise((resolve) => setImmediate(resolve));
        prepared.dispose();
      }
    }
    if (!idle) await this.#tasks.quiet();
    const result: HostJobResult = {
      id: this.#job.id,
      ...ending,
      truncated: { ...this.#output.truncated },
      usage: {
        cpu_ms: this.#cpuMs,
        wall_ms: Math.round(performance.now() - this.#startedAt),
        memory_peak_bytes: this.#memory?.peak ?? null,
      },
    };
    const chunks = this.#output.drain();
    this.#options.sendResult(result, chunks);
    prepared?.dispose();
    // An isolate that was still being made when the job ended is disposed as it arrives (see #begin).
    await this.#arrived;
    this.#over.resolve();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
