// The places the in-process queue holds for submissions between their checks and their queueing: while the
// store records them and the caller's admit() runs. Counted against the queue's bounds; a second submission
// with the same Idempotency-Key waits until the first is settled; an execution being admitted is invisible.
// Must never let a place or a key outlive its submission.

import { AirlockError } from '@airlock/protocol';

export interface SubmissionHold {
  /** The execution is stored and its admit() runs: it is hidden until release. */
  admitting(id: string): void;
  release(): void;
}

export interface RoomBounds {
  maxQueued: number;
  maxPerTenantQueued: number;
  retryAfterSeconds: number;
}

export class SubmissionHolds {
  readonly #perTenant = new Map<string, number>();
  readonly #keys = new Map<string, Promise<void>>();
  readonly #admitting = new Set<string>();
  #total = 0;

  of(tenant: string): number {
    return this.#perTenant.get(tenant) ?? 0;
  }

  /**
   * Throws `queue_full` unless there is room for one more waiting execution of the tenant: the executions
   * waiting to start plus the places held count against each bound.
   */
  checkRoom(tenant: string, waiting: { total: number; ofTenant: number }, bounds: RoomBounds): void {
    const { maxQueued, maxPerTenantQueued, retryAfterSeconds: retryAfter } = bounds;
    if (waiting.total + this.#total >= maxQueued) {
      throw new AirlockError('queue_full', `The queue holds ${maxQueued} waiting executions.`, {
        retryAfter,
      });
    }
    if (waiting.ofTenant + this.of(tenant) >= maxPerTenantQueued) {
      const message = `This tenant has ${maxPerTenantQueued} waiting executions.`;
      throw new AirlockError('queue_full', message, { retryAfter });
    }
  }

  /** Whether this execution is stored but not admitted yet. */
  isAdmitting(id: string): boolean {
    return this.#admitting.has(id);
  }

  /** Resolves once no submission holds this key (tenant + Idempotency-Key). */
  async keyFree(key: string | undefined): Promise<void> {
    for (let held = key && this.#keys.get(key); held; held = this.#keys.get(key as string)) await held;
  }

  hold(tenant: string, key: string | undefined): SubmissionHold {
    this.#total++;
    this.#perTenant.set(tenant, this.of(tenant) + 1);
    const settled = Promise.withResolvers<void>();
    if (key !== undefined) this.#keys.set(key, settled.promise);
    let id: string | undefined;
    let released = false;
    return {
      admitting: (executionId) => {
        id = executionId;
        this.#admitting.add(executionId);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = this.of(tenant) - 1;
        if (left > 0) this.#perTenant.set(tenant, left);
        else this.#perTenant.delete(tenant);
        if (key !== undefined) this.#keys.delete(key);
        if (id !== undefined) this.#admitting.delete(id);
        settled.resolve();
      },
    };
  }
}
