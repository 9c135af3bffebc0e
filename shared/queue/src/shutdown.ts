// The one shutdown of a job queue (in memory or on JetStream): once closing begins (close or drain) the queue
// takes no new work, and however often close() is called its shutdown runs once and every caller awaits it.

export class Shutdown {
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #run: () => Promise<void>;

  /** `run` is the queue's shutdown, started by the first close(). */
  constructor(run: () => Promise<void>) {
    this.#run = run;
  }

  /** True from the first close() or drain() on. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Takes no new work from now on (a drain, before it waits for the running jobs). */
  begin(): void {
    this.#closing = true;
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= this.#run();
    return this.#closed;
  }
}
