// The warm pools of one container sandbox: a pool per pooled image (built-in images, templates with a pool size)
// for the default memory profile, kept at least at its configured min, and pools for other memory profiles of
// those images made on demand by the first job that asks (min 0: they hold containers only while there is
// demand), up to `onDemandPools` of them. Every pool grows with demand up to `max` (warm-pool.ts). It must
// never make a pool for an image that is not pooled, nor more on-demand pools than allowed.

import type { AttachedContainer } from './attached-container.ts';
import { type ContainerProfile, type ContainerRuntime, profileKey } from './container-spec.ts';
import { type PoolLogger, WarmPool, type WarmPoolStats } from './warm-pool.ts';

/** A container sandbox's pool settings (ContainerSandboxOptions.pool). */
export interface PoolSettings {
  /**
   * Warm containers kept at least per image (python, node, bash) for the pooled profile (the pool's min);
   * 0 disables the pool. @default 2
   */
  size?: number;
  /** Warm containers kept at least per other template (0 or absent: cold only). A new hash drains the old pool. */
  templates?: Readonly<Record<string, number>>;
  /** The limits profile kept warm at its min: jobs with this limits.memory_mb lease. @default 128 */
  memoryMb?: number;
  /** Most warm containers per pool when demand is high (never below its min). @default 8 */
  max?: number;
  /** With no lease for this long a pool retires its surplus. @default 30000 */
  idleMs?: number;
  /** Pools made on demand for other memory limits of pooled images (0: such jobs go cold). @default 0 */
  onDemandPools?: number;
}

export interface PoolSupplyOptions {
  runtime: ContainerRuntime;
  /** The profile every pooled image keeps its min warm for. */
  pooledProfile: ContainerProfile;
  /** Most containers a pool keeps when demand is high (never below its min). */
  max: number;
  /** With no lease for this long a pool shrinks back to its min. */
  idleMs: number;
  /** Pools for other memory profiles made on demand; 0: those jobs always take the cold path. */
  onDemandPools: number;
  /** A container of `image` with `profile`, started and waiting. */
  create: (image: string, profile: ContainerProfile) => Promise<AttachedContainer>;
  /** Takes every container a pool lets go of, and the pool it came from. */
  discard: (container: AttachedContainer, pool: WarmPool) => void;
  logger?: PoolLogger | undefined;
}

export class PoolSupply {
  readonly #options: PoolSupplyOptions;
  readonly #pools = new Map<string, WarmPool>();
  /** Each pooled image's pools (its default profile's first). */
  readonly #byImage = new Map<string, Set<string>>();
  /** The keys of the pools made on demand. */
  readonly #onDemand = new Set<string>();
  #closed = false;

  constructor(options: PoolSupplyOptions) {
    this.#options = options;
  }

  /** Keeps `min` warm containers of `image` in the pooled profile (no-op when it is pooled already). */
  pool(image: string, min: number): void {
    if (this.#closed || min <= 0) return;
    this.#start(image, this.#options.pooledProfile, min);
  }

  /** Drains every pool of `image` (a template rebuilt with a new hash). */
  drainImage(image: string): void {
    for (const key of this.#byImage.get(image) ?? []) {
      const pool = this.#pools.get(key);
      this.#pools.delete(key);
      this.#onDemand.delete(key);
      void pool?.drain();
    }
    this.#byImage.delete(image);
  }

  /** The pool a job of `image` and `profile` leases from: made now for a new profile of a pooled image. */
  forJob(image: string, profile: ContainerProfile): WarmPool | undefined {
    const existing = this.#pools.get(profileKey(image, this.#options.runtime, profile));
    if (existing || this.#closed || !this.#byImage.has(image)) return existing;
    if (this.#onDemand.size >= this.#options.onDemandPools) return undefined;
    const pool = this.#start(image, profile, 0);
    this.#onDemand.add(pool.stats().key);
    return pool;
  }

  all(): WarmPool[] {
    return [...this.#pools.values()];
  }

  stats(): WarmPoolStats[] {
    return this.all().map((pool) => pool.stats());
  }

  /** Resolves when every pool holds its target (or is closed). */
  async whenFull(): Promise<void> {
    await Promise.all(this.all().map((pool) => pool.whenFull()));
  }

  async drain(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.all().map((pool) => pool.drain()));
  }

  #start(image: string, profile: ContainerProfile, min: number): WarmPool {
    const key = profileKey(image, this.#options.runtime, profile);
    const existing = this.#pools.get(key);
    if (existing) return existing;
    const pool: WarmPool = new WarmPool({
      key,
      size: min,
      max: Math.max(min, this.#options.max),
      idleMs: this.#options.idleMs,
      create: () => this.#options.create(image, profile),
      discard: (c) => this.#options.discard(c, pool),
      logger: this.#options.logger,
    });
    this.#pools.set(key, pool);
    const keys = this.#byImage.get(image) ?? new Set<string>();
    keys.add(key);
    this.#byImage.set(image, keys);
    pool.start();
    return pool;
  }
}
