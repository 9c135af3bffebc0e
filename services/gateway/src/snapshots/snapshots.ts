// The snapshot routes' side: the caller's snapshots listed, read and deleted (taking one, forking and pausing
// are the sessions'). Another tenant's snapshot, and an id that is not one, look exactly like one that does not
// exist. Without a snapshot store every call answers `snapshot_unsupported`.

import { type AuditSink, sessionSnapshotEntry } from '@airlock/audit';
import { AirlockError, type Snapshot } from '@airlock/protocol';
import type { Authorizer } from '../authorizer.ts';
import type { SnapshotStore } from './snapshot-store.ts';

export class Snapshots {
  readonly #authorizer: Authorizer;
  readonly #store: SnapshotStore | undefined;
  readonly #audit: AuditSink;
  readonly #logger: { error(obj: object, msg: string): void };

  constructor(
    authorizer: Authorizer,
    store: SnapshotStore | undefined,
    audit: AuditSink,
    logger: { error(obj: object, msg: string): void },
  ) {
    this.#authorizer = authorizer;
    this.#store = store;
    this.#audit = audit;
    this.#logger = logger;
  }

  async list(headers: Record<string, unknown>): Promise<{ snapshots: Snapshot[] }> {
    const caller = await this.#authorizer.authenticate(headers);
    return { snapshots: await this.#available().list(caller.tenant) };
  }

  async get(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const caller = await this.#authorizer.authenticate(headers);
    return this.#own(caller.tenant, id);
  }

  /** Deletes the snapshot (sessions started from it go on); answers it as it was. */
  async remove(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const caller = await this.#authorizer.authenticate(headers);
    const snapshot = await this.#own(caller.tenant, id);
    await this.#available().remove(id);
    const session = { id: snapshot.session_id, tenant: caller.tenant, backend: snapshot.backend };
    const deleted = {
      op: 'delete' as const,
      snapshot_id: id,
      size: snapshot.size_bytes,
      sha256: snapshot.sha256,
    };
    await this.#audit
      .append(sessionSnapshotEntry(session, caller, deleted))
      .catch((err: unknown) => this.#logger.error({ err }, 'audit append failed'));
    return snapshot;
  }

  /** The tenant's snapshot `id` (never a pause image); else `not_found`. */
  async #own(tenant: string, id: string): Promise<Snapshot> {
    const record = await this.#available().get(tenant, id);
    if (record?.purpose !== 'snapshot') throw missing(id);
    return record.snapshot;
  }

  #available(): SnapshotStore {
    if (this.#store === undefined) {
      throw new AirlockError('snapshot_unsupported', 'this server keeps no snapshots (no data directory)');
    }
    return this.#store;
  }
}

function missing(id: string): AirlockError {
  return new AirlockError('not_found', `no snapshot ${JSON.stringify(id.slice(0, 64))}`);
}
