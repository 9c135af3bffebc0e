// Executions waiting to start: one FIFO per tenant and a round-robin over tenants, so a tenant with many
// queued executions cannot starve another tenant's single one. Must never start anything itself.

export interface QueuedEntry {
  tenant: string;
  id: string;
}

export class TenantFairQueue {
  // Map order is the rotation: the first tenant is next; a served tenant with more waiting moves to the end.
  // Set order is each tenant's FIFO, with O(1) removal for cancels.
  readonly #byTenant = new Map<string, Set<string>>();
  #size = 0;

  /** Executions waiting, across all tenants. */
  get size(): number {
    return this.#size;
  }

  /** Executions waiting for one tenant. */
  count(tenant: string): number {
    return this.#byTenant.get(tenant)?.size ?? 0;
  }

  push(tenant: string, id: string): void {
    let ids = this.#byTenant.get(tenant);
    if (!ids) {
      ids = new Set();
      this.#byTenant.set(tenant, ids);
    }
    if (ids.has(id)) return;
    ids.add(id);
    this.#size++;
  }

  /** Removes a waiting execution; false if it was not waiting. */
  remove(tenant: string, id: string): boolean {
    const ids = this.#byTenant.get(tenant);
    if (!ids?.delete(id)) return false;
    this.#size--;
    if (ids.size === 0) this.#byTenant.delete(tenant);
    return true;
  }

  /**
   * Takes the next execution in round-robin order over tenants, or undefined when none waits. `mayStart` is
   * asked about each tenant's first execution: a tenant whose first may not start yet is passed over and keeps
   * both its place in the rotation and its order.
   */
  next(mayStart: (entry: QueuedEntry) => boolean = () => true): QueuedEntry | undefined {
    for (const [tenant, ids] of this.#byTenant) {
      const id = ids.values().next().value;
      if (id === undefined) {
        this.#byTenant.delete(tenant);
        continue;
      }
      if (!mayStart({ tenant, id })) continue;
      this.#byTenant.delete(tenant);
      ids.delete(id);
      this.#size--;
      if (ids.size > 0) this.#byTenant.set(tenant, ids);
      return { tenant, id };
    }
    return undefined;
  }

  /** Takes every waiting execution (in rotation order) and leaves the queue empty. */
  drain(): QueuedEntry[] {
    const all: QueuedEntry[] = [];
    for (let entry = this.next(); entry; entry = this.next()) all.push(entry);
    return all;
  }
}
