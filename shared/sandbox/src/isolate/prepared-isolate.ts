// An isolate made ready before its job exists: a brand-new isolate with its context, the guest runtime installed
// and the internal entry modules compiled (guest-isolate.ts), whose bridge routes to whichever job begins in it.
// Begins exactly one job, then is disposed.
// Must never begin a second job, and must refuse every bridge call made before its job has begun.

import type ivm from 'isolated-vm';
import type { BridgeHandlers } from './guest-bridge.ts';
import { BridgeRoute, createGuestIsolate, type IsolateRecipe } from './guest-isolate.ts';
import { compileEntryModules, type EntryModules } from './guest-modules.ts';
import { type BeginJob, beginGuestJob, type FireTimer, type GuestConfig } from './guest-runtime.ts';

export class PreparedIsolate {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly memoryMb: number;
  readonly entry: EntryModules;
  readonly #route: BridgeRoute;
  #begin: BeginJob | null;

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    memoryMb: number,
    entry: EntryModules,
    begin: BeginJob,
    route: BridgeRoute,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.memoryMb = memoryMb;
    this.entry = entry;
    this.#begin = begin;
    this.#route = route;
  }

  /** Builds a new isolate and installs the guest runtime in it; disposes it again if that fails. */
  static create(recipe: IsolateRecipe): Promise<PreparedIsolate> {
    const route = new BridgeRoute('airlock bridge: no job has begun in this isolate');
    return createGuestIsolate(recipe, route, async ({ isolate, context, begin }) => {
      const entry = await compileEntryModules(isolate);
      return new PreparedIsolate(isolate, context, recipe.memoryMb, entry, begin, route);
    });
  }

  /** Routes the bridge to `handlers` and copies the job's data in; returns the guest's timer entry point. */
  begin(handlers: BridgeHandlers, config: GuestConfig): FireTimer {
    const begin = this.#begin;
    if (begin === null) throw new Error('a job has already begun in this isolate');
    this.#begin = null;
    this.#route.handlers = handlers;
    return beginGuestJob(begin, config);
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  dispose(): void {
    this.#route.handlers = null;
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
