// The host side of a guest's timers: one Node timer per pending guest timer, a hard bound on how many may be
// pending, and the count of those that keep the job alive (ref'd). Must never run guest code itself: when a
// timer is due it only tells the job, which calls into the isolate.

export const MAX_PENDING_TIMERS = 1000;
const TIMEOUT_MAX = 2 ** 31 - 1;

interface PendingTimer {
  handle: NodeJS.Timeout;
  ref: boolean;
}

export class GuestTimers {
  readonly #pending = new Map<number, PendingTimer>();
  readonly #onDue: (id: number) => void;
  #closed = false;

  constructor(onDue: (id: number) => void) {
    this.#onDue = onDue;
  }

  /** Pending timers that keep the job alive. */
  get refCount(): number {
    let n = 0;
    for (const timer of this.#pending.values()) if (timer.ref) n += 1;
    return n;
  }

  start(id: number, delayMs: number, ref: boolean): boolean {
    if (this.#closed) return false;
    this.clear(id);
    if (this.#pending.size >= MAX_PENDING_TIMERS) return false;
    const delay = delayMs >= 1 && delayMs <= TIMEOUT_MAX ? delayMs : 1;
    const handle = setTimeout(() => {
      this.#pending.delete(id);
      this.#onDue(id);
    }, delay);
    this.#pending.set(id, { handle, ref });
    return true;
  }

  clear(id: number): void {
    const timer = this.#pending.get(id);
    if (timer === undefined) return;
    clearTimeout(timer.handle);
    this.#pending.delete(id);
  }

  setRef(id: number, ref: boolean): void {
    const timer = this.#pending.get(id);
    if (timer !== undefined) timer.ref = ref;
  }

  /** Cancels every pending timer and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#pending.values()) clearTimeout(timer.handle);
    this.#pending.clear();
  }
}
