// The retention sweeper: every interval it deletes the snapshots past their `expires_at`, each exactly as a
// DELETE would (folder, `snapshot.deleted` event, audit record) but with the reason `expired` and no caller
// behind it. A pause image is swept only once older than any session lives (its session ended without taking
// it along: the process stopped), so a paused session always finds its image. One pass at a time; close() stops
// the timer and waits for a pass under way, so nothing is deleted after the service has closed.

import type { AuditSink } from '@airlock/audit';
import type { Caller } from '@airlock/protocol';
import type { SnapshotStore } from './snapshot-store.ts';
import { deleteSnapshot } from './snapshots.ts';

export interface SnapshotSweeperOptions {
  store: SnapshotStore;
  audit: Pick<AuditSink, 'append'>;
  logger: { error(obj: object, msg: string): void };
  /** How often expired snapshots are looked for. */
  intervalMs: number;
}

/** Who deletes an expired snapshot: the server itself, for the snapshot's tenant. */
const sweeperOf = (tenant: string): Caller => ({ tenant, subject: null, issuer: null, jti: null, act: null });

export class SnapshotSweeper {
  readonly #options: SnapshotSweeperOptions;
  readonly #timer: NodeJS.Timeout;
  #pass: Promise<number> | null = null;
  #closed = false;

  /** Starts sweeping at once, then every interval. */
  constructor(options: SnapshotSweeperOptions) {
    this.#options = options;
    this.#timer = setInterval(() => void this.sweep(), options.intervalMs);
    this.#timer.unref();
    void this.sweep();
  }

  /** One pass (or the one under way): deletes every expired snapshot; answers how many. */
  sweep(): Promise<number> {
    if (this.#closed) return Promise.resolve(0);
    this.#pass ??= this.#sweepOnce().finally(() => {
      this.#pass = null;
    });
    return this.#pass;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#pass;
  }

  async #sweepOnce(): Promise<number> {
    const { store, audit, logger } = this.#options;
    let deleted = 0;
    try {
      for (const record of await store.expired(Date.now())) {
        if (this.#closed) break;
        await deleteSnapshot(store, audit, logger, record, sweeperOf(record.tenant), 'expired');
        deleted++;
      }
    } catch (err) {
      logger.error({ err }, 'sweeping expired snapshots failed');
    }
    return deleted;
  }
}
