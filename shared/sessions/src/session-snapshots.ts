// Snapshot, pause and resume of open sessions, and the image a fork starts from. A snapshot checkpoints the
// session's sandbox between cells (which ends that sandbox) and restores the session in place from the image at
// once; a pause keeps the image (the session's own, never listed) and no sandbox until the session resumes. An
// image is restored only once its sha256 matches (SnapshotStore.verified). It must never checkpoint during a
// cell, never restore an image for another tenant, and never leave a session open without a sandbox unless it
// is paused. Every new image (a snapshot, a pause, a copy of a pause image) fits the tenant's snapshot quota
// (snapshot-quota.ts) or is refused 429 `snapshot_quota_exceeded` with the session as it was: ready and running
// (an image that proves too large once written restores its own session at once, is removed, and is never
// offered as a snapshot).

import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AirlockError,
  type BackendName,
  type Caller,
  newSnapshotId,
  type SessionRequest,
  type Snapshot,
} from '@airlock/protocol';
import {
  CHECKPOINT_FILE,
  type SessionBackend,
  type SessionImage,
  type SessionLease,
  type SessionSpec,
} from '@airlock/sandbox';
import type { Authorizer } from './admission/authorizer.ts';
import type { SessionBackends } from './session-backends.ts';
import { type Entry, iso } from './session-entry.ts';
import { ensureRoom, quotaFor } from './snapshots/snapshot-quota.ts';
import type { CommitAdmit, SnapshotRecord, SnapshotStore } from './snapshots/snapshot-store.ts';

export interface SessionSnapshotsDeps {
  store: SnapshotStore | undefined;
  /** Whether the caller may keep snapshots, and its quota below the server's. */
  authorizer: Pick<Authorizer, 'authorizeSnapshots'>;
  backends: SessionBackends;
  /** Makes a lease the session's sandbox. */
  attach: (entry: Entry, lease: SessionLease) => void;
  /** Closes a session whose sandbox is gone for good. */
  close: (entry: Entry) => Promise<void>;
  logger: { warn(obj: object, msg: string): void };
}

export class SessionSnapshots {
  readonly #deps: SessionSnapshotsDeps;

  constructor(deps: SessionSnapshotsDeps) {
    this.#deps = deps;
  }

  async take(entry: Entry, caller: Caller): Promise<Snapshot> {
    const store = this.#store(entry.session.backend);
    const admit = await this.#room(store, caller);
    if (entry.session.status === 'paused' && entry.paused !== null) {
      return this.#copyPauseImage(store, entry, entry.paused, admit);
    }
    return this.#between(entry, async () => {
      const backend = await this.#backend(entry);
      const record = await this.#checkpoint(store, entry, 'snapshot', admit);
      try {
        this.#deps.attach(entry, await this.restore(backend, specOf(entry), await store.verified(record)));
      } catch (error) {
        await this.#deps.close(entry);
        throw new AirlockError(
          'internal_error',
          `snapshot ${record.snapshot.id} was taken, but the session could not go on from it: ${messageOf(error)}`,
        );
      }
      return record.snapshot;
    });
  }

  /** `caller`: who asked; absent, a pause the server makes (the tenant policy's quota alone). */
  async pause(entry: Entry, caller?: Caller): Promise<void> {
    if (entry.session.status === 'paused') return;
    const store = this.#store(entry.session.backend);
    const admit = await this.#room(store, caller ?? { tenant: entry.session.tenant });
    await this.#between(entry, async () => {
      await this.#backend(entry);
      const record = await this.#checkpoint(store, entry, 'pause', admit);
      // Closed meanwhile (its lifetime, a DELETE): its pause image is no one's.
      if (entry.closed !== null) await store.remove(record.snapshot.id);
      else entry.paused = record.snapshot.id;
    });
  }

  /** Why sessions on `backend` cannot be paused here (no snapshot store, or the backend's reason); else null. */
  async whyNotPausable(backend: SessionBackend): Promise<string | null> {
    if (this.#deps.store === undefined) return noStore(backend.backend);
    const why = await backend.snapshotUnsupported();
    if (why !== null) return why;
    return backend.restore === undefined ? `${backend.backend} sessions cannot be restored` : null;
  }

  /**
   * Restores a paused session from its pause image, which then goes (or, adopted after its worker was lost,
   * from its latest snapshot, which stays); a corrupt image is refused.
   */
  async resume(entry: Entry): Promise<void> {
    const pausedId = entry.paused;
    if (entry.session.status !== 'paused' || pausedId === null) return;
    const store = this.#store(entry.session.backend);
    await this.#between(entry, async () => {
      const backend = await this.#backend(entry);
      const record = await store.get(entry.session.tenant, pausedId);
      if (!record)
        throw new AirlockError('snapshot_corrupt', `the pause image of session ${entry.session.id} is gone`);
      const image = await store.verified(record);
      this.#deps.attach(entry, await this.restore(backend, specOf(entry), image));
      entry.paused = null;
      // A pause image goes; a snapshot the session resumed from (its worker was lost) stays the tenant's.
      if (record.purpose === 'pause') await store.remove(pausedId);
    });
  }

  /** The caller's snapshot a new session starts from, checked against the request; else a coded error. */
  async origin(caller: Caller, id: string, request: SessionRequest): Promise<SnapshotRecord> {
    const store = this.#store(request.backend);
    this.#deps.authorizer.authorizeSnapshots(caller);
    const record = await store.get(caller.tenant, id);
    if (record?.purpose !== 'snapshot') {
      throw new AirlockError('not_found', `no snapshot ${JSON.stringify(id.slice(0, 64))}`, {
        field: 'from_snapshot',
      });
    }
    const { snapshot } = record;
    const mismatch = (field: string, value: string) =>
      new AirlockError(
        'invalid_request',
        `snapshot ${id} is of ${field} ${value}; a session from it must be too`,
        {
          field,
        },
      );
    if (request.language !== snapshot.language) throw mismatch('language', snapshot.language);
    if (request.backend !== 'auto' && request.backend !== snapshot.backend)
      throw mismatch('backend', snapshot.backend);
    const memory = request.limits.memory_mb;
    if (memory !== undefined && memory !== snapshot.memory_mb) {
      throw mismatch('limits.memory_mb', String(snapshot.memory_mb));
    }
    return record;
  }

  /** The image of a snapshot, once it passed its integrity check. */
  verified(record: SnapshotRecord): Promise<SessionImage> {
    return this.#store(record.snapshot.backend).verified(record);
  }

  /** A new session's sandbox restored from an image on `backend` (snapshot_unsupported when it cannot). */
  async restore(backend: SessionBackend, spec: SessionSpec, image: SessionImage): Promise<SessionLease> {
    const why = await backend.snapshotUnsupported();
    if (why !== null || backend.restore === undefined) {
      throw new AirlockError('snapshot_unsupported', why ?? `${backend.backend} sessions cannot be restored`);
    }
    return backend.restore(spec, image);
  }

  /** Removes the pause image of a session that closes while paused. */
  async dropPauseImage(entry: Entry): Promise<void> {
    const id = entry.paused;
    entry.paused = null;
    // A session adopted from its latest snapshot is paused on that snapshot, which is the tenant's to keep.
    if (id !== null && id !== entry.latestSnapshot) await this.#deps.store?.remove(id).catch(() => {});
  }

  /**
   * Refuses at once a caller whose token or tenant policy forbids snapshots (403), or whose tenant keeps as
   * much as its quota allows (429); answers the check of the image once its size is known.
   */
  async #room(store: SnapshotStore, who: Caller | { tenant: string }): Promise<Admit> {
    const quota = quotaFor(store.quota, this.#deps.authorizer.authorizeSnapshots(who));
    ensureRoom(who.tenant, quota, await store.usage(who.tenant));
    return (usage, size) => ensureRoom(who.tenant, quota, usage, size);
  }

  /** Runs `step` with the session held as if a cell ran (cells meanwhile: session_busy). */
  async #between<T>(entry: Entry, step: () => Promise<T>): Promise<T> {
    const { session } = entry;
    if (entry.running) throw new AirlockError('session_busy', `session ${session.id} is running a cell`);
    const holding = new AbortController();
    entry.running = holding;
    session.status = 'busy';
    try {
      return await step();
    } finally {
      if (entry.running === holding) entry.running = null;
      if (entry.closed === null) session.status = entry.paused === null ? 'ready' : 'paused';
    }
  }

  async #backend(entry: Entry): Promise<SessionBackend> {
    const name = entry.session.backend;
    const backend = this.#deps.backends.get(name as BackendName);
    const why = backend ? await backend.snapshotUnsupported() : `the ${name} backend is not running here`;
    if (!backend || why !== null) {
      throw new AirlockError('snapshot_unsupported', why ?? `${name} sessions cannot be snapshotted`);
    }
    return backend;
  }

  /** Checkpoints the session's sandbox (which ends it) into a new image of that purpose. */
  async #checkpoint(
    store: SnapshotStore,
    entry: Entry,
    purpose: SnapshotRecord['purpose'],
    admit: Admit,
  ): Promise<SnapshotRecord> {
    const { session } = entry;
    const sandbox = entry.sandbox;
    if (!sandbox?.checkpoint)
      throw new AirlockError('snapshot_unsupported', `${session.backend} sessions cannot be snapshotted`);
    const id = newSnapshotId();
    const folder = await store.prepare(id);
    entry.sandbox = null; // its end is not the session's from here on
    let kernel: Awaited<ReturnType<NonNullable<SessionLease['checkpoint']>>>;
    try {
      kernel = await sandbox.checkpoint(folder);
    } catch (error) {
      await store.remove(id);
      // A checkpoint that failed may have left the sandbox running, or ended it.
      this.#deps.attach(entry, sandbox);
      const ended = await Promise.race([sandbox.ended, Promise.resolve(null)]);
      if (ended !== null) await this.#deps.close(entry);
      throw new AirlockError('internal_error', `the session could not be snapshotted: ${messageOf(error)}`);
    }
    const fresh = {
      tenant: session.tenant,
      purpose,
      kernel,
      snapshot: {
        id,
        session_id: session.id,
        language: session.language,
        backend: session.backend,
        memory_mb: session.limits.memory_mb,
        created_at: iso(Date.now()),
      },
    };
    let snapshot: Snapshot;
    try {
      snapshot = await store.commit(fresh, admit);
    } catch (error) {
      await this.#restoreRefused(store, entry, id, { folder, kernel });
      throw error;
    }
    return { tenant: session.tenant, purpose, kernel, snapshot };
  }

  /**
   * The session goes on from the image it was just checkpointed into, which was not kept (over the quota, or
   * its record could not be written); the image then goes. A session that cannot go on is closed.
   */
  async #restoreRefused(store: SnapshotStore, entry: Entry, id: string, image: SessionImage): Promise<void> {
    try {
      const backend = await this.#backend(entry);
      this.#deps.attach(entry, await this.restore(backend, specOf(entry), image));
    } catch (error) {
      this.#deps.logger.warn({ err: error, session: entry.session.id }, 'a session lost its sandbox');
      await this.#deps.close(entry);
    } finally {
      await store.remove(id);
    }
  }

  async #copyPauseImage(
    store: SnapshotStore,
    entry: Entry,
    pausedId: string,
    admit: Admit,
  ): Promise<Snapshot> {
    const record = await store.get(entry.session.tenant, pausedId);
    if (!record)
      throw new AirlockError('snapshot_corrupt', `the pause image of session ${entry.session.id} is gone`);
    const image = await store.verified(record);
    const id = newSnapshotId();
    const folder = await store.prepare(id);
    await copyFile(join(image.folder, CHECKPOINT_FILE), join(folder, CHECKPOINT_FILE));
    const { expires_at: _, ...taken } = record.snapshot;
    const copy = {
      ...record,
      purpose: 'snapshot' as const,
      snapshot: { ...taken, id, created_at: iso(Date.now()) },
    };
    return store.commit(copy, admit).catch(async (error: unknown) => {
      await store.remove(id);
      throw error;
    });
  }

  #store(backend: string): SnapshotStore {
    if (this.#deps.store === undefined) throw new AirlockError('snapshot_unsupported', noStore(backend));
    return this.#deps.store;
  }
}

const noStore = (backend: string) =>
  `this server keeps no snapshots (no data directory), so ${backend} sessions cannot be snapshotted`;

/** Checks a new image of `size` bytes against the tenant's quota, given what the tenant keeps. */
type Admit = CommitAdmit;

function specOf(entry: Entry): SessionSpec {
  const { session } = entry;
  return { sessionId: session.id, language: session.language, limits: session.limits };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
