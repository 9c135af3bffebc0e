// An isolate made ready before its job exists: a brand-new isolate with its context, the guest runtime
// installed and the internal entry modules compiled, whose bridge routes to whichever job begins in it. Begins exactly one job, then is disposed.
// Must never begin a second job, and must refuse every bridge call made before its job has begun.

import ivm from 'isolated-vm';
import { type BridgeHandlers, createBridge } from './guest-bridge.ts';
import { compileEntryModules, type EntryModules } from './guest-modules.ts';
import {
  type BeginJob,
  beginGuestJob,
  type FireTimer,
  type GuestConfig,
  type GuestRuntimeCode,
  installGuestRuntime,
} from './guest-runtime.ts';

export interface IsolateRecipe {
  /** The isolate's heap limit, already clamped to the minimum. */
  memoryMb: number;
  code: GuestRuntimeCode;
  /** Called by isolated-vm when V8 lost control of the isolate; the host process must end. */
  onCatastrophicError: (message: string) => void;
}

export class PreparedIsolate {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly memoryMb: number;
  readonly entry: EntryModules;
  #begin: BeginJob | null;
  #handlers: BridgeHandlers | null = null;

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    memoryMb: number,
    entry: EntryModules,
    begin: BeginJob,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.memoryMb = memoryMb;
    this.entry = entry;
    this.#begin = begin;
  }

  /** Builds a new isolate and installs the guest runtime in it; disposes it again if that fails. */
  static async create(recipe: IsolateRecipe): Promise<PreparedIsolate> {
    const isolate = new ivm.Isolate({
      memoryLimit: recipe.memoryMb,
      onCatastrophicError: recipe.onCatastrophicError,
    });
    try {
      const context = await isolate.createContext();
      let prepared: PreparedIsolate | null = null;
      const bridge = createBridge(() => {
        const handlers = prepared === null ? null : prepared.#handlers;
        if (handlers === null) throw new Error('airlock bridge: no job has begun in this isolate');
        return handlers;
      });
      const begin = await installGuestRuntime(isolate, context, bridge, recipe.code);
      const entry = await compileEntryModules(isolate);
      prepared = new PreparedIsolate(isolate, context, recipe.memoryMb, entry, begin);
      return prepared;
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      throw error;
    }
  }

  /** Routes the bridge to `handlers` and copies the job's data in; returns the guest's timer entry point. */
  begin(handlers: BridgeHandlers, config: GuestConfig): FireTimer {
    const begin = this.#begin;
    if (begin === null) throw new Error('a job has already begun in this isolate');
    this.#begin = null;
    this.#handlers = handlers;
    return beginGuestJob(begin, config);
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  dispose(): void {
    this.#handlers = null;
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
