// Runs one cell of a JavaScript/TypeScript session inside its session host, in the session's kept isolate (see
// kept-isolate.ts). The cell is a classic script in the session's one context, so top-level `var`, function
// and class declarations, top-level `let`/`const`, and globalThis properties stay for later cells. A cell whose
// code has top-level `await` runs as the body of an async function instead: its declarations stay local to it
// (assign to globalThis to keep a value) and its value is what it `return`s. TypeScript is type-stripped like a
// one-shot job. The cell waits for its ref'd timers; timers still pending when it ends are dropped.
// The value of the last expression comes back as text/plain (the runtime's inspect), an uncaught error as
// `exception`, and the isolate is kept — except when it must be stopped while running (wall time, CPU time,
// cancel), runs out of memory or calls airlock.exit(): then it is disposed and the result says the session
// ended (session_end). Memory is what the whole session makes its host hold (see job-memory.ts), measured from
// when its isolate was ready. Must never run guest code after the cell has ended, nor pass a host object into it.

import { stripTypeScriptTypes } from 'node:module';
import type { OutputStream } from '@airlock/protocol';
import type ivm from 'isolated-vm';
import { CappedOutput, utf8Prefix } from './capped-output.ts';
import { type BridgeHandlers, type ReadFileReply, readFileReply } from './guest-bridge.ts';
import { describeGuestError } from './guest-errors.ts';
import type { HostJob, HostJobResult, HostReports, HostSessionEnd } from './host-messages.ts';
import { IsolateTasks } from './isolate-tasks.ts';
import { JobMemory } from './job-memory.ts';
import type { KeptIsolate } from './kept-isolate.ts';
import { LimitWatch } from './limit-watch.ts';

/** An exception's traceback and a value's text are cut here (and at the cell's output cap). */
const MAX_RICH_CHARS = 64 * 1024;
/** UTF-8 size of the `…` that marks a cut value. */
const ELLIPSIS_BYTES = 3;

type Exception = NonNullable<HostJobResult['exception']>;

interface Ending {
  outcome: HostJobResult['outcome'];
  exit_code: number | null;
  reason: string | null;
  exception?: Exception;
  /** The isolate has to go (it is running and cannot be stopped otherwise, or the guest asked to exit). */
  dispose?: HostSessionEnd;
}

export class CellRun {
  readonly #job: HostJob;
  readonly #kept: KeptIsolate;
  readonly #files: ReadonlyMap<string, Uint8Array>;
  readonly #reports: HostReports;
  readonly #output: CappedOutput;
  readonly #startedAt = performance.now();
  readonly #over = Promise.withResolvers<void>();
  readonly #filename: string;
  readonly #tasks: IsolateTasks;
  readonly #limits: LimitWatch;
  readonly #memory: JobMemory;
  #ending: Ending | null = null;
  #value: string | null = null;

  /** `number`: the cell's position in the session (names its script in tracebacks). */
  constructor(
    job: HostJob,
    kept: KeptIsolate,
    files: ReadonlyMap<string, Uint8Array>,
    number: number,
    reports: HostReports,
  ) {
    this.#job = job;
    this.#kept = kept;
    this.#files = files;
    this.#reports = reports;
    this.#output = new CappedOutput(job.limits.output_bytes, reports.sendOutput);
    this.#tasks = new IsolateTasks({
      fireTimer: (id) => kept.fireTimer(id),
      isolateDisposed: () => kept.disposed,
      events: {
        idle: () => this.#finish({ outcome: 'success', exit_code: 0, reason: null }),
        threw: (error) => {
          const exception = exceptionOf(error);
          this.#output.write('stderr', `${exception.traceback}\n`);
          this.#finish({ outcome: 'error', exit_code: 1, reason: null, exception });
        },
        disposed: () => this.#memoryExceeded(),
      },
    });
    this.#limits = new LimitWatch(job.limits, {
      timeout: (reason) => this.#stop('timeout', reason),
      memoryExceeded: () => this.#memoryExceeded(),
    });
    this.#memory = new JobMemory(kept.memoryMb, kept.baselineResident);
    this.#filename = `cell-${number}.${job.language === 'typescript' ? 'ts' : 'js'}`;
  }

  get id(): string {
    return this.#job.id;
  }

  /** Runs the cell; resolves once its result is sent (and the isolate disposed, if it had to go). */
  run(): Promise<void> {
    this.#limits.start();
    const kept = this.#kept;
    try {
      this.#limits.watch(kept.isolate, this.#memory);
      kept.beginCell(this.#handlers(), {
        stdin: this.#job.stdin,
        outputBytes: this.#job.limits.output_bytes,
      });
    } catch (error) {
      if (kept.disposed) this.#memoryExceeded();
      else
        this.#finish({
          outcome: 'internal_error',
          exit_code: null,
          reason: `cell setup failed: ${messageOf(error)}`,
        });
      return this.#over.promise;
    }
    this.#tasks.track(this.#evaluate());
    return this.#over.promise;
  }

  cancel(): void {
    this.#stop('canceled', 'canceled by the caller');
  }

  async #evaluate(): Promise<void> {
    const { script, wrapped } = await this.#compile();
    if (this.#ending !== null) return;
    const completion = (await script.run(this.#kept.context, {
      reference: true,
      promise: wrapped,
      release: true,
    })) as ivm.Reference;
    try {
      if (this.#ending === null) this.#value = await this.#kept.inspect(completion);
    } finally {
      completion.release();
    }
  }

  /** Compiles the cell as a script; one with top-level await that does not compile is wrapped in an async function. */
  async #compile(): Promise<{ script: ivm.Script; wrapped: boolean }> {
    const source = this.#source();
    const isolate = this.#kept.isolate;
    try {
      return { script: await isolate.compileScript(source, { filename: this.#filename }), wrapped: false };
    } catch (error) {
      if (!/\bawait\b/.test(source) || !/await/.test(messageOf(error))) throw error;
      // Same first line, so line numbers in tracebacks stay those of the cell.
      const body = `(async () => {${source}\n})()`;
      try {
        return { script: await isolate.compileScript(body, { filename: this.#filename }), wrapped: true };
      } catch {
        throw error;
      }
    }
  }

  #source(): string {
    if (this.#job.language !== 'typescript') return this.#job.code;
    try {
      return stripTypeScriptTypes(this.#job.code, { mode: 'strip' });
    } catch (error) {
      const text = `SyntaxError: TypeScript error in ${this.#filename}: ${messageOf(error)}`;
      throw new CellSourceError(text);
    }
  }

  #handlers(): BridgeHandlers {
    return {
      write: (stream, text) => this.#write(stream, text),
      ...this.#tasks.timerHandlers(),
      uncaught: (text) => {
        if (this.#ending !== null) return;
        this.#output.write('stderr', `${text}\n`);
        const exception = exceptionOfText(text);
        this.#finish({ outcome: 'error', exit_code: 1, reason: null, exception }, true);
      },
      exit: (code) =>
        this.#finish(
          {
            outcome: code === 0 ? 'success' : 'error',
            exit_code: code,
            reason: 'airlock.exit() ended the session',
            dispose: 'interpreter_exited',
          },
          true,
        ),
      entryDone: () => {},
      readFile: (path, asText) => this.#readFile(path, asText),
    };
  }

  #write(stream: OutputStream, text: string): boolean {
    // Past the cap output is dropped but the cell runs on: stopping it would cost the session its isolate.
    return this.#ending === null && this.#output.write(stream, text);
  }

  #readFile(path: string, asText: boolean): ReadFileReply {
    return readFileReply(this.#files, path, asText);
  }

  #memoryExceeded(): void {
    this.#finish(this.#memoryEnding());
  }

  #memoryEnding(): Ending {
    const mb = this.#kept.memoryMb;
    return {
      outcome: 'memory_limit',
      exit_code: null,
      reason: `memory limit of ${mb} MB exceeded; the session's isolate was disposed and the session closed`,
      dispose: 'memory_limit',
    };
  }

  /**
   * Ends the cell from outside (time, CPU, cancel). An idle cell (only timers pending) just ends; a running one
   * cannot be interrupted safely, so the isolate is disposed and the session ends.
   */
  #stop(outcome: 'timeout' | 'canceled', reason: string): void {
    if (this.#ending !== null) return;
    if (this.#tasks.count === 0) {
      this.#finish({
        outcome,
        exit_code: null,
        reason: `${reason}; pending timers were dropped and the session kept`,
      });
      return;
    }
    this.#finish({
      outcome,
      exit_code: null,
      reason: `${reason}; a running isolate cannot be interrupted, so it was disposed and the session closed`,
      dispose: outcome === 'timeout' ? 'cell_timeout' : 'interpreter_exited',
    });
  }

  /**
   * Ends the cell once. When the guest ends it (success, error, exit) while the isolate runs nothing, or from
   * inside a bridge callback (`inGuestCall`), a last memory sample is taken: a cell that went over the
   * session's memory on the way out ends with memory_limit.
   */
  #finish(proposed: Ending, inGuestCall = false): void {
    if (this.#ending !== null) return;
    const kept = this.#kept;
    const failed = proposed.outcome === 'error';
    const byGuest = proposed.outcome === 'success' || failed;
    const canSample = byGuest && (this.#tasks.count === 0 || inGuestCall) && !kept.disposed;
    const overMemory = canSample && this.#memory.overAtEnd(kept.isolate, failed);
    const ending = overMemory ? this.#memoryEnding() : proposed;
    this.#ending = ending;
    this.#limits.stop();
    this.#tasks.end();
    void this.#settle(ending);
  }

  /**
   * Disposes the isolate first if it has to go (after the bridge call that ended the cell has returned), and
   * then waits until its thread has stopped: until then the session still holds its memory.
   */
  async #settle(ending: Ending): Promise<void> {
    const kept = this.#kept;
    if (!kept.disposed) {
      this.#limits.readCpu();
      if (ending.dispose !== undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        kept.dispose();
      }
    }
    if (kept.disposed) await this.#tasks.quiet();
    kept.endCell();
    let { outcome, reason } = ending;
    if (outcome === 'success' && this.#output.overflowed) {
      outcome = 'output_limit';
      reason = `output exceeded the limit of ${this.#job.limits.output_bytes} bytes`;
    }
    const sessionEnd = ending.dispose ?? (kept.disposed ? 'interpreter_exited' : undefined);
    const value = outcome === 'success' || outcome === 'output_limit' ? this.#richValue() : null;
    const result: HostJobResult = {
      id: this.#job.id,
      outcome,
      exit_code: ending.exit_code,
      reason,
      truncated: { ...this.#output.truncated },
      usage: {
        cpu_ms: this.#limits.cpuMs,
        wall_ms: Math.round(performance.now() - this.#startedAt),
        memory_peak_bytes: this.#memory.peak,
      },
      value,
      exception: ending.exception ?? null,
      ...(sessionEnd !== undefined ? { session_end: sessionEnd } : {}),
    };
    this.#reports.sendResult(result, this.#output.drain());
    this.#over.resolve();
  }

  /** The value's text, counted with stdout and stderr against the cell's output cap: cut (and stdout marked
   * truncated) when it does not fit in what the output left. */
  #richValue(): { 'text/plain': string } | null {
    if (this.#value === null) return null;
    const room = this.#output.bytesLeft;
    const text = utf8Prefix(this.#value, Math.min(MAX_RICH_CHARS, room));
    if (text === this.#value) return { 'text/plain': text };
    if (Buffer.byteLength(this.#value, 'utf8') > room) this.#output.truncated.stdout = true;
    const marked = utf8Prefix(this.#value, Math.min(MAX_RICH_CHARS, room - ELLIPSIS_BYTES));
    return room > ELLIPSIS_BYTES ? { 'text/plain': `${marked}…` } : null;
  }
}

/** A cell whose source could not be prepared (TypeScript that does not strip). */
class CellSourceError extends Error {
  override name = 'SyntaxError';
}

function cut(text: string): string {
  return text.length > MAX_RICH_CHARS ? `${text.slice(0, MAX_RICH_CHARS)}…` : text;
}

/** name/message/traceback of what a failed isolate task rejected with (a copy made by isolated-vm). */
function exceptionOf(error: unknown): Exception {
  if (error instanceof CellSourceError) {
    return {
      name: 'SyntaxError',
      message: cut(error.message.replace(/^SyntaxError: /, '')),
      traceback: cut(error.message),
    };
  }
  const traceback = describeGuestError(error);
  if (error instanceof Error) {
    return { name: error.name, message: cut(error.message), traceback };
  }
  return { name: typeof error, message: cut(String(error)), traceback };
}

/** name/message of an uncaught error the runtime reported as text ("Name: message\n    at …"). */
function exceptionOfText(text: string): Exception {
  const first = text.split('\n', 1)[0] ?? '';
  const match = /^(?:Uncaught )?([A-Za-z_$][\w$]*): (.*)$/.exec(first);
  if (match) return { name: match[1] ?? 'Error', message: cut(match[2] ?? ''), traceback: cut(text) };
  return { name: 'Uncaught', message: cut(first), traceback: cut(text) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
