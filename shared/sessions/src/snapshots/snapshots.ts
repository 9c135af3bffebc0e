// The snapshot routes' side: the caller's snapshots listed, read and deleted (taking one, forking and pausing
// are the sessions'), and the one way a snapshot is deleted (by its tenant or by the retention sweeper): its
// folder, its `snapshot.deleted` event and its audit record. Another tenant's snapshot, an expired one, and an
// id that is not one, look exactly like one that does not exist; a caller whose token or tenant policy forbids
// snapshots is 403. Without a snapshot store every call answers `snapshot_unsupported`.

import { type AuditSink, sessionSnapshotEntry } from '@airlock/audit';
import { AirlockError, type Caller, type Snapshot } from '@airlock/protocol';
import type { Authorizer } from '../admission/authorizer.ts';
import type { SnapshotDeletion, SnapshotRecord, SnapshotStore } from './snapshot-store.ts';

type ErrorLogger = { error(obj: object, msg: string): void };

/** Removes a snapshot (its folder and `snapshot.deleted` event), then writes its audit record, saying why. */
export async function deleteSnapshot(
  store: SnapshotStore,
  audit: Pick<AuditSink, 'append'>,
  logger: ErrorLogger,
  record: Pick<SnapshotRecord, 'tenant' | 'snapshot'>,
  caller: Caller,
  reason: SnapshotDeletion,
): Promise<void> {
  const { snapshot } = record;
  await store.remove(snapshot.id, reason);
  const session = { id: snapshot.session_id, tenant: record.tenant, backend: snapshot.backend };
  const deleted = {
    op: 'delete' as const,
    snapshot_id: snapshot.id,
    size: snapshot.size_bytes,
    sha256: snapshot.sha256,
    reason,
  };
  // The snapshot is gone: a failed append is logged, not thrown.
  await audit
    .append(sessionSnapshotEntry(session, caller, deleted))
    .catch((err: unknown) => logger.error({ err }, 'audit append failed'));
}

export class Snapshots {
  readonly #authorizer: Authorizer;
  readonly #store: SnapshotStore | undefined;
  readonly #audit: AuditSink;
  readonly #logger: ErrorLogger;

  constructor(
    authorizer: Authorizer,
    store: SnapshotStore | undefined,
    audit: AuditSink,
    logger: ErrorLogger,
  ) {
    this.#authorizer = authorizer;
    this.#store = store;
    this.#audit = audit;
    this.#logger = logger;
  }

  async list(headers: Record<string, unknown>): Promise<{ snapshots: Snapshot[] }> {
    const caller = await this.#allowed(headers);
    return { snapshots: await this.#available().list(caller.tenant) };
  }

  async get(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const caller = await this.#allowed(headers);
    return this.#own(caller.tenant, id);
  }

  /** Deletes the snapshot (sessions started from it go on); answers it as it was. */
  async remove(headers: Record<string, unknown>, id: string): Promise<Snapshot> {
    const caller = await this.#allowed(headers);
    const snapshot = await this.#own(caller.tenant, id);
    const record = { tenant: caller.tenant, snapshot };
    await deleteSnapshot(this.#available(), this.#audit, this.#logger, record, caller, 'deleted');
    return snapshot;
  }

  /** The caller, once its token and tenant policy allow snapshots (else `forbidden`). */
  async #allowed(headers: Record<string, unknown>): Promise<Caller> {
    const caller = await this.#authorizer.authenticate(headers);
    this.#authorizer.authorizeSnapshots(caller);
    return caller;
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
