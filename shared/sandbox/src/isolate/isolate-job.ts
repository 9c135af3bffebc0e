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
import { MAX_PENDING_TIMERS } from './guest-timers.ts';
import { type HostJob, type HostJobResult, type HostReports, MIN_MEMORY_MB } from './host-messages.ts';
import { IsolateTasks } from './isolate-tasks.ts';
import { JobMemory } from './job-memory.ts';
import { LimitWatch } from './limit-watch.ts';
import type { PreparedIsolate } from './prepared-isolate.ts';

type Ending = Pick<HostJobResult, 'outcome' | 'exit_code' | 'reason'>;

export class IsolateJob {
  readonly #job: HostJob;
  readonly #reports: HostReports;
  readonly #output: CappedOutput;
  /** The job's guest fetches, through its egress proxy when it has one. */
  readonly #fetches: GuestFetches;
  readonly #files = new Map<string, Uint8Array>();
  readonly #startedAt = performance.now();
  readonly #over = Promise.withResolvers<void>();
  readonly #tasks: IsolateTasks;
  readonly #limits: LimitWatch;
  #isolate: PreparedIsolate | null = null;
  #arrived: Promise<unknown> = Promise.resolve();
  #ending: Ending | null = null;
  #entryDone = false;
  #fireTimer: FireTimer | null = null;
  #memory: JobMemory | null = null;

  constructor(job: HostJob, reports: HostReports) {
    this.#job = job;
    this.#reports = reports;
    this.#output = new CappedOutput(job.limits.output_bytes, reports.sendOutput);
    this.#tasks = new IsolateTasks({
      fireTimer: (id) => this.#fireTimer?.apply(undefined, [id]) ?? null,
      isolateDisposed: () => this.#isolate?.disposed === true,
      events: {
        idle: () => this.#idle(),
        threw: (error) => {
          this.#output.write('stderr', `${describeGuestError(error)}\n`);
          this.#finish({ outcome: 'error', exit_code: 1, reason: null });
        },
        disposed: () => this.#memoryExceeded(),
      },
    });
    this.#limits = new LimitWatch(job.limits, {
      timeout: (reason) => this.#finish({ outcome: 'timeout', exit_code: null, reason }),
      memoryExceeded: () => this.#memoryExceeded(),
    });
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
    this.#limits.start();
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
      this.#limits.watch(prepared.isolate, this.#memory);
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
    this.#tasks.track(this.#evaluate(prepared));
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
      ...this.#tasks.timerHandlers(),
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

  /** A fetch reply is ready: the guest learns it through its timer entry point, as id `-id`. */
  #fetchReady(id: number): void {
    this.#tasks.run(
      () => this.#fireTimer?.apply(undefined, [-id]).finally(() => this.#fetches.take(id)) ?? null,
    );
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

  /** Nothing runs in the isolate and no timer keeps the job alive: it is over unless a fetch is pending. */
  #idle(): void {
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
    this.#limits.stop();
    this.#tasks.end();
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
      this.#limits.readCpu();
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
        cpu_ms: this.#limits.cpuMs,
        wall_ms: Math.round(performance.now() - this.#startedAt),
        memory_peak_bytes: this.#memory?.peak ?? null,
      },
    };
    const chunks = this.#output.drain();
    this.#reports.sendResult(result, chunks);
    prepared?.dispose();
    // An isolate that was still being made when the job ended is disposed as it arrives (see #begin).
    await this.#arrived;
    this.#over.resolve();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
