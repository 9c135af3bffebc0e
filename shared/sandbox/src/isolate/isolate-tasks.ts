// The tasks a job (or a session cell) has running in its isolate: linking, evaluation, timers, fetch replies.
// Counts them and says when none is left. A disposed isolate's tasks settle only once its thread has really
// stopped (a long native operation, such as filling a huge buffer, runs on past the dispose), so waiting for
// them is how the host knows the isolate no longer runs. Must never count a task twice or lose one.

export class IsolateTasks {
  #count = 0;
  #quiet: PromiseWithResolvers<void> | null = null;

  /** Tasks running now; the isolate is idle at zero. */
  get count(): number {
    return this.#count;
  }

  /** Counts `task` until it settles, then calls `done` or `failed`. */
  track(task: Promise<unknown>, done: () => void, failed: (error: unknown) => void): void {
    this.#count += 1;
    task.then(
      () => {
        this.#settled();
        done();
      },
      (error: unknown) => {
        this.#settled();
        failed(error);
      },
    );
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
