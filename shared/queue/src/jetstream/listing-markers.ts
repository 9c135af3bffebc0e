// The hour markers of the listing (`ih.<tenant hash>.<hour>`, execution-listing.ts), written by one queue
// instance at most once a second per marker (CPU and a KV write per submit saved): the first entry of a quiet
// marker writes it at once, and the entries that follow within the second leave a rewrite due at the end of
// that second. So the marker's last write is never older than the entries of its hour, and it expires no
// sooner than they do (the bucket's retention counts from the last write).
// Must never let a listing entry be published before a write of its hour's marker has been stored.

import type { KV } from '@nats-io/kv';

/** How long after a write of a marker the next entry of its hour only leaves a rewrite due. */
export const MARKER_REWRITE_MS = 1_000;

interface MarkerState {
  /** The latest write of the marker (settled once it is stored). */
  written: Promise<void>;
  /** When that write was sent. */
  at: number;
  /** The rewrite due at `at + MARKER_REWRITE_MS`, if an entry came after the write. */
  due: NodeJS.Timeout | undefined;
}

export class ListingMarkers {
  readonly #kv: KV;
  readonly #onError: (error: unknown, during: string) => void;
  readonly #markers = new Map<string, MarkerState>();

  constructor(kv: KV, onError: (error: unknown, during: string) => void) {
    this.#kv = kv;
    this.#onError = onError;
  }

  /** Resolves once a write of the marker sent no sooner than the last second has been stored. */
  touch(key: string): Promise<void> {
    const now = Date.now();
    const state = this.#markers.get(key);
    if (state !== undefined && now - state.at < MARKER_REWRITE_MS) {
      if (state.due === undefined) {
        state.due = setTimeout(() => void this.#rewrite(key), state.at + MARKER_REWRITE_MS - now);
        state.due.unref();
      }
      return state.written;
    }
    return this.#write(key, now);
  }

  /** Sends every rewrite that is due later now and waits for them (at shutdown). */
  async settle(): Promise<void> {
    const due = [...this.#markers].filter(([, state]) => state.due !== undefined).map(([key]) => key);
    await Promise.all(due.map((key) => this.#rewrite(key)));
  }

  #rewrite(key: string): Promise<void> {
    const state = this.#markers.get(key);
    if (state?.due === undefined) return Promise.resolve();
    return this.#write(key, Date.now()).catch((error: unknown) =>
      this.#onError(error, 'rewriting a listing hour marker'),
    );
  }

  #write(key: string, now: number): Promise<void> {
    const state = this.#markers.get(key);
    if (state?.due !== undefined) clearTimeout(state.due);
    const written = this.#kv.put(key, '').then(() => undefined);
    this.#markers.set(key, { written, at: now, due: undefined });
    written.catch(() => {
      // A failed write is the caller's to report; the next entry writes the marker again.
      if (this.#markers.get(key)?.written === written) this.#markers.delete(key);
    });
    this.#forgetQuiet(now);
    return written;
  }

  /** Forgets markers written long ago with nothing due (their next entry writes them at once anyway). */
  #forgetQuiet(now: number): void {
    if (this.#markers.size < 64) return;
    for (const [key, state] of this.#markers) {
      if (state.due === undefined && now - state.at >= MARKER_REWRITE_MS) this.#markers.delete(key);
    }
  }
}
