// A brand-new isolate with its context and the guest runtime installed, whose bridge calls go to whatever job or
// cell runs in it at the time (its BridgeRoute): what a PreparedIsolate (one job) and a KeptIsolate (a session's
// cells) are both made from. An isolate whose making fails at any step is disposed again.
// Must never pass a bridge call on while nothing runs in the isolate.

import ivm from 'isolated-vm';
import { type BridgeHandlers, createBridge } from './guest-bridge.ts';
import { type BeginJob, type GuestRuntimeCode, installGuestRuntime } from './guest-runtime.ts';

export interface IsolateRecipe {
  /** The isolate's heap limit (MB), already clamped to the minimum. */
  memoryMb: number;
  /** The runtime to install; a KeptIsolate's is built with `{ session: true }`. */
  code: GuestRuntimeCode;
  /** Called by isolated-vm when V8 lost control of the isolate; the host process must end. */
  onCatastrophicError: (message: string) => void;
}

/** Where an isolate's bridge calls go: the handlers of the job or cell running in it, or nowhere. */
export class BridgeRoute {
  handlers: BridgeHandlers | null = null;
  readonly #nothingRuns: string;

  /** `nothingRuns`: the error a bridge call gets while no job or cell runs. */
  constructor(nothingRuns: string) {
    this.#nothingRuns = nothingRuns;
  }

  current(): BridgeHandlers {
    if (this.handlers === null) throw new Error(this.#nothingRuns);
    return this.handlers;
  }
}

export interface GuestIsolate {
  isolate: ivm.Isolate;
  context: ivm.Context;
  /** The runtime's begin, not called yet. */
  begin: BeginJob;
}

/**
 * Makes the isolate, its context and the runtime, its bridge going through `route`; `complete` finishes it
 * (compiles, begins) under the same guard: if anything throws, the isolate is disposed and the error rethrown.
 */
export async function createGuestIsolate<T>(
  recipe: IsolateRecipe,
  route: BridgeRoute,
  complete: (made: GuestIsolate) => T | Promise<T>,
): Promise<T> {
  const isolate = new ivm.Isolate({
    memoryLimit: recipe.memoryMb,
    onCatastrophicError: recipe.onCatastrophicError,
  });
  try {
    const context = await isolate.createContext();
    const bridge = createBridge(() => route.current());
    const begin = await installGuestRuntime(isolate, context, bridge, recipe.code);
    return await complete({ isolate, context, begin });
  } catch (error) {
    if (!isolate.isDisposed) isolate.dispose();
    throw error;
  }
}
