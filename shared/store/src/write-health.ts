// Whether the store can be written now: a failed write (a full or read-only disk) makes it unwritable, the next
// write that succeeds writable again, so the service can refuse work it could not record and say so. Must never
// swallow the error of the write it watched.

import { AirlockError } from '@airlock/protocol';

/** Retry-After of `store_unavailable`: a full or read-only disk takes a while to mend. */
const STORE_RETRY_AFTER_SECONDS = 5;

/** A submission the store could not record: refused (503 `store_unavailable`), and nothing of it kept. */
export function storeUnavailable(): AirlockError {
  return new AirlockError(
    'store_unavailable',
    'the execution store cannot be written, so no work is accepted until it can; retry later',
    { retryAfter: STORE_RETRY_AFTER_SECONDS },
  );
}

export type StoreHealth = { healthy: true } | { healthy: false; since: string; error: string };

export class WriteHealth {
  #health: StoreHealth = { healthy: true };
  readonly #onChange: ((health: StoreHealth) => void) | undefined;

  constructor(onChange?: (health: StoreHealth) => void) {
    this.#onChange = onChange;
  }

  get current(): StoreHealth {
    return this.#health;
  }

  /** Runs one write; its failure marks the store unwritable (and is rethrown), its success writable again. */
  run<T>(write: () => T): T {
    try {
      const result = write();
      if (!this.#health.healthy) this.#set({ healthy: true });
      return result;
    } catch (error) {
      if (this.#health.healthy) {
        this.#set({ healthy: false, since: new Date().toISOString(), error: describe(error) });
      }
      throw error;
    }
  }

  #set(health: StoreHealth): void {
    this.#health = health;
    this.#onChange?.(health);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { errstr?: unknown }).errstr;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}
