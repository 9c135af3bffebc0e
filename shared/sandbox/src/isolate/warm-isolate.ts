// The next job's isolate, prepared while an isolate host is idle: one PreparedIsolate for the default memory
// limit, so a job with that limit starts without building an isolate, a context or the guest runtime. A job
// with any other limit gets a fresh one built for it. Must never hand the same isolate to two jobs.

import type { IsolateRecipe } from './guest-isolate.ts';
import { PreparedIsolate } from './prepared-isolate.ts';

export class WarmIsolate {
  readonly #recipe: IsolateRecipe;
  #next: Promise<PreparedIsolate> | null = null;

  constructor(recipe: IsolateRecipe) {
    this.#recipe = recipe;
  }

  /** The memory limit (MB) the warm isolate is made for. */
  get memoryMb(): number {
    return this.#recipe.memoryMb;
  }

  /** Starts preparing the next isolate unless one is ready or on its way; resolves once it is (or failed). */
  prepare(): Promise<void> {
    this.#next ??= PreparedIsolate.create(this.#recipe);
    return this.#next.then(
      () => {},
      () => {},
    );
  }

  /** The isolate for one job: the warm one when the limit matches (waiting if still in the making), else new. */
  take(memoryMb: number): Promise<PreparedIsolate> {
    const next = this.#next;
    if (memoryMb !== this.#recipe.memoryMb || next === null) {
      return PreparedIsolate.create({ ...this.#recipe, memoryMb });
    }
    this.#next = null;
    // A warm isolate that could not be made is no reason to fail the job: it gets a fresh attempt.
    return next.catch(() => PreparedIsolate.create(this.#recipe));
  }

  /** Disposes the warm isolate, if any (the host is going away). */
  async close(): Promise<void> {
    const next = this.#next;
    this.#next = null;
    (await next?.catch(() => null))?.dispose();
  }
}
