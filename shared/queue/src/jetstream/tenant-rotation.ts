// Which tenant's consumer a worker asks next: a round-robin over the tenants believed to have jobs waiting,
// so a tenant with many queued jobs cannot starve one with a single job. A tenant leaves the rotation when
// a pull finds it empty, unless news of a new job arrived while that pull was on its way. A tenant may have
// several consumers (one per template its jobs need): a served one takes its tenant's others to the back with
// it, so a tenant gets one turn per round however many it has.
// Must never start anything itself.

export interface RotationTurn {
  consumer: string;
  /** Pass back to served() or empty() so late news is not lost. */
  generation: number;
}

export class TenantRotation {
  // Set order is the rotation: the first entry is next; a served consumer moves to the end.
  readonly #ready = new Set<string>();
  readonly #generations = new Map<string, number>();
  readonly #tenantOf: (consumer: string) => string;

  /** `tenantOf` names the tenant of a consumer. @default each consumer is a tenant of its own */
  constructor(tenantOf: (consumer: string) => string = (consumer) => consumer) {
    this.#tenantOf = tenantOf;
  }

  /** Consumers believed to have jobs waiting. */
  get size(): number {
    return this.#ready.size;
  }

  /** News that the consumer may have a job (a wake-up, or a listing that shows some pending). */
  hasWork(consumer: string): void {
    const generation = (this.#generations.get(consumer) ?? 0) + 1;
    this.#generations.set(consumer, generation);
    this.#ready.add(consumer);
  }

  /** The next consumer to ask, or undefined when none is believed to have work. */
  next(): RotationTurn | undefined {
    for (const consumer of this.#ready) {
      return { consumer, generation: this.#generations.get(consumer) ?? 0 };
    }
    return undefined;
  }

  /** The pull got a job: the consumer goes to the back of the rotation, its tenant's others just before it. */
  served(turn: RotationTurn): void {
    if (!this.#ready.delete(turn.consumer)) return;
    const tenant = this.#tenantOf(turn.consumer);
    for (const other of [...this.#ready]) {
      if (this.#tenantOf(other) !== tenant) continue;
      this.#ready.delete(other);
      this.#ready.add(other);
    }
    this.#ready.add(turn.consumer);
  }

  /** The pull found nothing: the consumer leaves the rotation unless news arrived meanwhile. */
  empty(turn: RotationTurn): void {
    if ((this.#generations.get(turn.consumer) ?? 0) !== turn.generation) {
      this.served(turn);
      return;
    }
    this.#ready.delete(turn.consumer);
  }

  /** Forgets a consumer that no longer exists. */
  forget(consumer: string): void {
    this.#ready.delete(consumer);
    this.#generations.delete(consumer);
  }
}
