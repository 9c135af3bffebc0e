// The one isolate of a JavaScript/TypeScript session host (session-host-main.ts): a context with the
// session-mode guest runtime, begun once for the session, whose bridge routes to whichever cell is running.
// Cells run in it one after another as classic scripts, so what they declare at top level stays. Must never
// route a bridge call to a cell that has ended, never expose the runtime's session API to guest code, and is
// never used again once disposed.

import type ivm from 'isolated-vm';
import type { BridgeHandlers } from './guest-bridge.ts';
import { BridgeRoute, createGuestIsolate, type IsolateRecipe } from './guest-isolate.ts';
import { beginGuestJob, type GuestCellConfig } from './guest-runtime.ts';
import { MAX_PENDING_TIMERS } from './guest-timers.ts';
import { residentBytes } from './job-memory.ts';

export class KeptIsolate {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly memoryMb: number;
  /** The host's resident bytes once the session's isolate was ready: what the session holds is measured from here. */
  readonly baselineResident = residentBytes();
  readonly #route: BridgeRoute;
  readonly #fireTimer: ivm.Reference<(id: number) => void>;
  readonly #beginCell: ivm.Reference<(cell: GuestCellConfig) => void>;
  readonly #inspectValue: ivm.Reference<(value: unknown) => string | null>;

  private constructor(
    isolate: ivm.Isolate,
    context: ivm.Context,
    memoryMb: number,
    api: ivm.Reference,
    route: BridgeRoute,
  ) {
    this.isolate = isolate;
    this.context = context;
    this.memoryMb = memoryMb;
    this.#route = route;
    this.#fireTimer = api.getSync('fireTimer', { reference: true });
    this.#beginCell = api.getSync('beginCell', { reference: true });
    this.#inspectValue = api.getSync('inspectValue', { reference: true });
    api.release();
  }

  /**
   * Builds the isolate, installs the session runtime (`recipe.code` built with `{ session: true }`) and begins
   * it with no job data; disposes it on failure.
   */
  static create(recipe: IsolateRecipe): Promise<KeptIsolate> {
    const route = new BridgeRoute('airlock bridge: no cell is running in this session');
    return createGuestIsolate(recipe, route, ({ isolate, context, begin }) => {
      // In session mode begin returns the runtime's session API (see guest-runtime.ts), not fireTimer.
      const api = beginGuestJob(begin, {
        stdin: '',
        args: [],
        env: {},
        outputBytes: 0,
        maxTimers: MAX_PENDING_TIMERS,
        memoryBytes: recipe.memoryMb * 1024 * 1024,
      }) as unknown as ivm.Reference;
      return new KeptIsolate(isolate, context, recipe.memoryMb, api, route);
    });
  }

  /** Routes the bridge to a cell's handlers and hands the runtime the cell's stdin and output cap. */
  beginCell(handlers: BridgeHandlers, cell: GuestCellConfig): void {
    this.#route.handlers = handlers;
    this.#beginCell.applySync(undefined, [cell], { arguments: { copy: true } });
  }

  /** Stops routing bridge calls to the cell that ran last. */
  endCell(): void {
    this.#route.handlers = null;
  }

  /** Runs the guest's callback of timer `id`. */
  fireTimer(id: number): Promise<unknown> {
    return this.#fireTimer.apply(undefined, [id]);
  }

  /** The runtime's inspect() text of a value (null for undefined); runs in the isolate, no getters are run. */
  async inspect(value: ivm.Reference): Promise<string | null> {
    const text: unknown = await this.#inspectValue.apply(undefined, [value.derefInto()], {
      result: { copy: true },
    });
    return typeof text === 'string' ? text : null;
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  dispose(): void {
    this.#route.handlers = null;
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
