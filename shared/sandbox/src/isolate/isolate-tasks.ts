// What a job (or a session cell) has going on in its isolate: the tasks running there — linking, evaluation,
// timer callbacks, fetch replies — and the guest's pending timers, whose callbacks run as tasks when due. It
// counts the tasks, says when nothing keeps the guest alive any more, and routes a failed task: what the guest
// threw, or the isolate disposed under it (out of memory). A disposed isolate's tasks settle only once its
// thread has really stopped (a long native operation, such as filling a huge buffer, runs on past the dispose),
// so waiting for them is how the host knows the isolate no longer runs. Must never count a task twice or lose
// one, and never report anything once the run has ended.

import type { BridgeHandlers } from './guest-bridge.ts';
import { GuestTimers } from './guest-timers.ts';

export interface IsolateTaskEvents {
  /** No task runs and no timer that keeps the guest alive is pending. */
  idle(): void;
  /** A task failed with what the guest threw. */
  threw(error: unknown): void;
  /** A task failed because the isolate was disposed under it: it went over its memory. */
  disposed(): void;
}

export interface IsolateTaskOptions {
  /** Calls the guest's callback of timer `id` in the isolate; null while the guest has no timer entry point. */
  fireTimer: (id: number) => Promise<unknown> | null;
  isolateDisposed: () => boolean;
  events: IsolateTaskEvents;
}

export class IsolateTasks {
  /** The guest's pending timers; a due one runs its callback as a task. */
  readonly timers: GuestTimers;
  readonly #options: IsolateTaskOptions;
  #count = 0;
  #ended = false;
  #quiet: PromiseWithResolvers<void> | null = null;

  constructor(options: IsolateTaskOptions) {
    this.#options = options;
    this.timers = new GuestTimers((id) => this.run(() => options.fireTimer(id)));
  }

  /** Tasks running now; the isolate is idle at zero. */
  get count(): number {
    return this.#count;
  }

  /** Counts `task` until it settles; then reports (unless the run has ended). */
  track(task: Promise<unknown>): void {
    this.#count += 1;
    task.then(
      () => {
        this.#settled();
        if (!this.#ended && this.#count === 0 && this.timers.refCount === 0) this.#options.events.idle();
      },
      (error: unknown) => {
        this.#settled();
        if (this.#ended) return;
        if (this.#options.isolateDisposed()) this.#options.events.disposed();
        else this.#options.events.threw(error);
      },
    );
  }

  /** Calls into the isolate as a task, unless the run has ended (`call` answering null starts nothing). */
  run(call: () => Promise<unknown> | null): void {
    if (this.#ended) return;
    const task = call();
    if (task !== null) this.track(task);
  }

  /** The bridge's timer calls, onto these timers (a timer is refused once the run has ended). */
  timerHandlers(): Pick<BridgeHandlers, 'timerStart' | 'timerClear' | 'timerRef'> {
    return {
      timerStart: (id, delay, ref) => this.timers.start(id, delay, ref),
      timerClear: (id) => this.timers.clear(id),
      timerRef: (id, ref) => this.timers.setRef(id, ref),
    };
  }

  /** The run has ended: its pending timers are dropped, nothing new starts and nothing more is reported. */
  end(): void {
    this.#ended = true;
    this.timers.close();
  }

  /** Resolves once no task is running. */
  quiet(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    this.#quiet ??= Promise.withResolvers<void>();
    return this.#quiet.promise;
  }

  #settled(): void {
    this.#count -= 1;
    if (this.#count === 0 && this.#quiet !== null) {
      this.#quiet.resolve();
      this.#quiet = null;
    }
  }
}
