// Per-tenant counts of executions queued and running, against the tenant's max_concurrent and max_queued.
// The gateway acquires a ticket when it accepts a submission (refused when the tenant already has
// max_concurrent + max_queued in flight); the queue's dispatch asks the ticket to start before the execution
// runs (no while max_concurrent of the tenant run: it waits, queued, and asks again when one ends); whoever
// sees the execution end releases it. Must never let a double release or a release of a refused ticket
// corrupt the counts.

export interface TenantQuota {
  max_concurrent: number;
  max_queued: number;
}

export interface TenantOccupancyOptions {
  /** The tenant's quota (from its policy). */
  quotaOf: (tenant: string) => TenantQuota;
  /** Retry-After offered when a tenant is full; when a slot frees cannot be known. @default 1 */
  retryAfterSeconds?: number;
}

export interface OccupancyTicket {
  /** Moves the execution from queued to running; false (and no change) while the tenant runs max_concurrent. */
  start(): boolean;
  /** Frees the execution's slot, queued or running; later calls do nothing. */
  release(): void;
}

export type OccupancyDecision =
  | { ok: true; ticket: OccupancyTicket }
  | { ok: false; reason: string; retryAfterSeconds: number };

export interface TenantCounts {
  queued: number;
  running: number;
}

export class TenantOccupancy {
  readonly #counts = new Map<string, TenantCounts>();
  readonly #quotaOf: (tenant: string) => TenantQuota;
  readonly #retryAfter: number;

  constructor(options: TenantOccupancyOptions) {
    this.#quotaOf = options.quotaOf;
    this.#retryAfter = options.retryAfterSeconds ?? 1;
  }

  /** Admits one more execution for the tenant (counted as queued), or says why not. */
  acquire(tenant: string): OccupancyDecision {
    const quota = this.#quotaOf(tenant);
    const counts = this.counts(tenant);
    const inFlight = counts.queued + counts.running;
    if (inFlight >= quota.max_concurrent + quota.max_queued) {
      return {
        ok: false,
        reason:
          `tenant quota reached: ${inFlight} executions queued or running ` +
          `(max_concurrent ${quota.max_concurrent} + max_queued ${quota.max_queued})`,
        retryAfterSeconds: this.#retryAfter,
      };
    }
    this.#set(tenant, { queued: counts.queued + 1, running: counts.running });
    let state: 'queued' | 'running' | 'released' = 'queued';
    return {
      ok: true,
      ticket: {
        start: () => {
          if (state !== 'queued') return state === 'running';
          if (!this.canStart(tenant)) return false;
          const now = this.counts(tenant);
          this.#set(tenant, { queued: now.queued - 1, running: now.running + 1 });
          state = 'running';
          return true;
        },
        release: () => {
          if (state === 'released') return;
          const now = this.counts(tenant);
          this.#set(
            tenant,
            state === 'queued' ? { ...now, queued: now.queued - 1 } : { ...now, running: now.running - 1 },
          );
          state = 'released';
        },
      },
    };
  }

  /** True when the tenant runs fewer than max_concurrent executions. */
  canStart(tenant: string): boolean {
    return this.counts(tenant).running < this.#quotaOf(tenant).max_concurrent;
  }

  counts(tenant: string): TenantCounts {
    const counts = this.#counts.get(tenant);
    return counts ? { ...counts } : { queued: 0, running: 0 };
  }

  #set(tenant: string, counts: TenantCounts): void {
    if (counts.queued === 0 && counts.running === 0) this.#counts.delete(tenant);
    else this.#counts.set(tenant, counts);
  }
}
