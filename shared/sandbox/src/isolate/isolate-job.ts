// Runs one job in a fresh isolate inside the isolate host: builds the isolate, installs the guest runtime,
// evaluates the job's modules, drives its timers, and ends it on completion, uncaught error, exit(), output
// cap, wall-clock deadline, CPU limit, memory limit or cancel. Must never let the isolate outlive its job and
// never pass a host object into it (see guest-bridge.ts).

import { posix } from 'node:path';
import type { OutputStream } from '@airlock/protocol';
import ivm from 'isolated-vm';
import { CappedOutput } from './capped-output.ts';
import { type BridgeHandlers, createBridge, type ReadFileReply } from './guest-bridge.ts';
import { describeGuestError } from './guest-errors.ts';
import { GuestModules, mainPath } from './guest-modules.ts';
import { type FireTimer, installGuestRuntime } from './guest-runtime.ts';
import { GuestTimers, MAX_PENDING_TIMERS } from './guest-timers.ts';
import { type HostJob, type HostJobResult, MIN_MEMORY_MB, type OutputChunk } from './host-messages.ts';

/** How often the host checks CPU time and samples the heap while a job runs. */
const WATCH_INTERVAL_MS = 10;
const HEAP_SAMPLE_EVERY = 5;
const LAST_SAMPLE_WAIT_MS = 50;

type Ending = Pick<HostJobResult, 'outcome' | 'exit_code' | 'reason'>;

export interface IsolateJobOptions {
  sendOutput: (chunks: OutputChunk[]) => void;
  /** Called by isolated-vm when V8 lost control of the isolate; the host process must end. */
  onCatastrophicError: (message: string) => void;
}

export class IsolateJob {
  readonly #job: HostJob;
  readonly #isolate: ivm.Isolate;
  readonly #output: CappedOutput;
  readonly #timers: GuestTimers;
  readonly #files = new Map<string, Uint8Array>();
  readonly #startedAt = performance.now();
  readonly #result = Promise.withResolvers<HostJobResult>();
  #ending: Ending | null = null;
  #inFlight = 0;
  #entryDone = false;
  #fireTimer: FireTimer | null = null;
  #cpuMs: number | null = null;
  #memoryPeak: number | null = null;
  #watchTicks = 0;
  #sampling = false;
  #deadline: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(job: HostJob, options: IsolateJobOptions) {
    this.#job = job;
    this.#isolate = new ivm.Isolate({
      memoryLimit: Math.max(MIN_MEMORY_MB, job.limits.memory_mb),
      onCatastrophicError: options.onCatastrophicError,
    });
    this.#output = new CappedOutput(job.limits.output_bytes, options.sendOutput);
    this.#timers = new GuestTimers((id) => this.#fire(id));
    for (const file of job.files) this.#files.set(file.path, file.content);
    this.#files.set(mainPath(job.language), Buffer.from(job.code, 'utf8'));
  }

  get id(): string {
    return this.#job.id;
  }

  /** Runs the job to its end; never rejects. */
  run(): Promise<HostJobResult> {
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
    void this.#start();
    return this.#result.promise;
  }

  cancel(): void {
    this.#finish({ outcome: 'canceled', exit_code: null, reason: 'canceled by the caller' });
  }

  async #start(): Promise<void> {
    let context: ivm.Context;
    try {
      context = await this.#isolate.createContext();
      const config = {
        stdin: this.#job.stdin,
        args: this.#job.args,
        env: this.#job.env,
        outputBytes: this.#job.limits.output_bytes,
        maxTimers: MAX_PENDING_TIMERS,
      };
      this.#fireTimer = await installGuestRuntime(context, createBridge(this.#handlers()), config);
    } catch (error) {
      if (this.#isolate.isDisposed && this.#ending === null) return this.#memoryExceeded();
      const detail = error instanceof Error ? error.message : String(error);
      return this.#finish({
        outcome: 'internal_error',
        exit_code: null,
        reason: `isolate setup failed: ${detail}`,
      });
    }
    try {
      const entry = await new GuestModules(this.#isolate, this.#job).link(context, this.#job.language);
      this.#track(entry.evaluate());
    } catch (error) {
      this.#taskFailed(error);
    }
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
        this.#finish({ outcome: 'error', exit_code: 1, reason: null });
      },
      exit: (code) =>
        this.#finish({ outcome: code === 0 ? 'success' : 'error', exit_code: code, reason: null }),
      entryDone: () => {
        this.#entryDone = true;
      },
      readFile: (path, asText) => this.#readFile(path, asText),
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
    const normalized = posix.normalize(path).replace(/^(?:\.\/)+/, '');
    const content = this.#files.get(normalized);
    if (content === undefined) {
      return { ok: false, code: 'ENOENT', message: `ENOENT: no such file or directory, open '${path}'` };
    }
    return { ok: true, data: asText ? Buffer.from(content).toString('utf8') : new Uint8Array(content) };
  }

  #track(task: Promise<unknown>): void {
    this.#inFlight += 1;
    task.then(
      () => {
        this.#inFlight -= 1;
        this.#checkIdle();
      },
      (error: unknown) => {
        this.#inFlight -= 1;
        this.#taskFailed(error);
      },
    );
  }

  #fire(id: number): void {
    if (this.#ending !== null || this.#fireTimer === null) return;
    this.#track(this.#fireTimer.apply(undefined, [id]));
  }

  #taskFailed(error: unknown): void {
    if (this.#ending !== null) return;
    if (this.#isolate.isDisposed) {
      this.#memoryExceeded();
      return;
    }
    this.#output.write('stderr', `${describeGuestError(error)}\n`);
    this.#finish({ outcome: 'error', exit_code: 1, reason: null });
  }

  #memoryExceeded(): void {
    const mb = Math.max(MIN_MEMORY_MB, this.#job.limits.memory_mb);
    this.#finish({ outcome: 'memory_limit', exit_code: null, reason: `memory limit of ${mb} MB exceeded` });
  }

  #checkIdle(): void {
    if (this.#ending !== null || this.#inFlight > 0 || this.#timers.refCount > 0) return;
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

  #watch(): void {
    if (this.#isolate.isDisposed) return;
    this.#cpuMs = Number(this.#isolate.cpuTime) / 1e6;
    const { cpu_time_ms } = this.#job.limits;
    if (this.#cpuMs > cpu_time_ms) {
      this.#finish({
        outcome: 'timeout',
        exit_code: null,
        reason: `cpu time limit of ${cpu_time_ms} ms exceeded`,
      });
      return;
    }
    this.#watchTicks += 1;
    if (!this.#sampling && this.#watchTicks % HEAP_SAMPLE_EVERY === 1) void this.#sampleHeap();
  }

  async #sampleHeap(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.#sampling = true;
    try {
      const request = this.#isolate.getHeapStatistics();
      const stats = await (Number.isFinite(waitMs)
        ? Promise.race([request, new Promise<never>((_, reject) => setTimeout(reject, waitMs))])
        : request);
      const used = stats.used_heap_size + stats.externally_allocated_size;
      this.#memoryPeak = Math.max(this.#memoryPeak ?? 0, used);
    } catch {
      // The isolate was disposed while the sample was queued; keep the last sample.
    } finally {
      this.#sampling = false;
    }
  }

  /** Ends the job once: stops its timers, disposes the isolate, sends the remaining output, then the result. */
  #finish(ending: Ending): void {
    if (this.#ending !== null) return;
    const idle = this.#inFlight === 0;
    this.#ending = ending;
    clearTimeout(this.#deadline);
    clearInterval(this.#watchdog);
    this.#timers.close();
    void this.#settle(ending, idle);
  }

  async #settle(ending: Ending, idle: boolean): Promise<void> {
    if (!this.#isolate.isDisposed) {
      this.#cpuMs = Number(this.#isolate.cpuTime) / 1e6;
      // Only an idle isolate answers at once; a busy one is disposed without a last sample.
      if (idle) await this.#sampleHeap(LAST_SAMPLE_WAIT_MS);
    }
    // Deferred so a bridge callback that ended the job has returned before its isolate goes away.
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
    this.#output.close();
    this.#result.resolve({
      id: this.#job.id,
      ...ending,
      truncated: { ...this.#output.truncated },
      usage: {
        cpu_ms: this.#cpuMs,
        wall_ms: Math.round(performance.now() - this.#startedAt),
        memory_peak_bytes: this.#memoryPeak,
      },
    });
  }
}
