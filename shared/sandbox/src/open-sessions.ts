// The session leases one SessionBackend has open or is opening (container/session/container-session-backend.ts,
// isolate/isolate-session-backend.ts): a session that finishes opening after close() began is closed at once; one
// that ends, is closed or is checkpointed is forgotten; close() waits for openings and destroys every open one. Must never leave a
// session running after close().

import { AirlockError } from '@airlock/protocol';
import type { SessionLease } from './sandbox.ts';

export class OpenSessions<S extends SessionLease> {
  readonly #open = new Map<string, S>();
  readonly #opening = new Set<Promise<S>>();
  #closed = false;

  /** Refuses new sessions once close() has begun. */
  checkOpen(): void {
    if (this.#closed) throw new AirlockError('shutting_down', 'the session backend is closed');
  }

  /** Tracks a session while it opens, then while it lives; what the backend hands out. */
  async add(opening: Promise<S>): Promise<SessionLease> {
    this.#opening.add(opening);
    try {
      const session = await opening;
      if (this.#closed) {
        await session.close();
        throw new AirlockError('shutting_down', 'the session backend is closed');
      }
      this.#open.set(session.id, session);
      const forget = () => {
        if (this.#open.get(session.id) === session) this.#open.delete(session.id);
      };
      void session.ended.then(forget);
      return {
        id: session.id,
        ended: session.ended,
        run: (cell, options) => session.run(cell, options),
        files: session.files,
        close: async () => {
          forget();
          await session.close();
        },
        ...(session.checkpoint === undefined
          ? {}
          : {
              checkpoint: async (folder: string) => {
                const state = await session.checkpoint?.(folder);
                if (state === undefined) throw new Error('the session cannot be checkpointed');
                forget(); // checkpointed, its sandbox is gone
                return state;
              },
            }),
      };
    } finally {
      this.#opening.delete(opening);
    }
  }

  get(id: string): S | undefined {
    return this.#open.get(id);
  }

  get size(): number {
    return this.#open.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#opening]);
    await Promise.allSettled([...this.#open.values()].map((session) => session.close()));
    this.#open.clear();
  }
}
