// The audit log as an append-only JSON Lines file with one writer: each append() is sealed into the hash chain
// the moment it is called and written in that order, with group commit when every record must be durable.
// When the file system refuses a write (full, read-only, I/O error) the failed batch is rejected, the file is
// cut back to the end of the last good record (so no torn line stays), and the log reports itself unhealthy;
// later appends and a periodic probe try again, and the first write that succeeds makes it healthy again.
// The file is held open only while records are being written, so an idle log does not pin its file system
// (an operator can remount it).
// Must never write anything but the sealed entry (no secrets come from here), never rewrite a complete line,
// never acknowledge a record that is not written, and never let two writers in this process continue the
// same chain.

import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AuditSink } from './audit-sink.ts';
import {
  type AuditHealth,
  AuditUnavailableError,
  type FileAuditLogOptions,
  type FsyncMode,
  type ResolvedOptions,
  readOptions,
} from './file-audit-log-options.ts';
import { messageOf, syncDirectory, writeAll } from './file-writes.ts';
import { type ChainHead, resumeChain, type TailRepair } from './log-tail.ts';
import type { AuditEntry, AuditRecord } from './record.ts';
import { sealRecord } from './seal.ts';
import { probeWritable } from './write-probe.ts';

interface PendingRecord {
  record: AuditRecord;
  line: Buffer;
  resolve: (record: AuditRecord) => void;
  reject: (error: Error) => void;
}

/** The end of the last record known to be written whole. */
interface StoredEnd {
  head: ChainHead;
  size: number;
}

export type { AuditHealth, FileAuditLogOptions, FsyncMode } from './file-audit-log-options.ts';
export { AuditUnavailableError } from './file-audit-log-options.ts';

/**
 * How the writer opens the file. With fsync 'always' every write is synchronous to the disk (O_DSYNC: the data
 * and what is needed to read it back, as write + fdatasync), in one call instead of two.
 */
const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

/** Absolute paths with an open writer in this process. */
const openPaths = new Set<string>();

export class FileAuditLog implements AuditSink {
  /** Absolute path of the log file. */
  readonly path: string;
  /** The incomplete final line dropped by repairTruncatedTail, or null when nothing was dropped. */
  readonly repairedTail: TailRepair | null;
  /** Open while a drain writes; closed when the queue is empty. */
  #file: FileHandle | null;
  readonly #fsync: FsyncMode;
  readonly #timer: NodeJS.Timeout | null;
  readonly #probeMs: number;
  readonly #onHealthChange: ((health: AuditHealth) => void) | undefined;
  #head: ChainHead;
  #stored: StoredEnd;
  /** Bytes past #stored.size may be on disk (a write failed part-way): cut them before the next write. */
  #dirtyTail = false;
  #queue: PendingRecord[] = [];
  #writing: Promise<void> | null = null;
  #syncing: Promise<void> | null = null;
  #unsynced = false;
  #failure: { error: AuditUnavailableError; since: Date } | null = null;
  #probe: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    path: string,
    stored: StoredEnd,
    repaired: TailRepair | null,
    options: ResolvedOptions & Pick<FileAuditLogOptions, 'onHealthChange'>,
  ) {
    this.path = path;
    this.#file = null;
    this.#head = stored.head;
    this.#stored = stored;
    this.repairedTail = repaired;
    this.#fsync = options.fsync;
    this.#probeMs = options.probeIntervalMs;
    this.#onHealthChange = options.onHealthChange;
    this.#timer =
      options.fsync === 'interval' ? setInterval(() => this.#syncTick(), options.intervalMs).unref() : null;
  }

  /**
   * Opens (creating it and its parent directories if needed, mode 0600) the log at `path` and resumes its
   * chain from the last record. Rejects with a CorruptAuditLogError naming the line if the tail is corrupt.
   */
  static async open(path: string, options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    const resolved = readOptions(options);
    const absolute = resolve(path);
    if (openPaths.has(absolute))
      throw new Error(`audit log ${absolute} is already open in this process: one writer per file`);
    openPaths.add(absolute);
    let file: FileHandle | null = null;
    try {
      await mkdir(dirname(absolute), { recursive: true, mode: 0o700 });
      file = await open(absolute, 'a+', 0o600);
      const stats = await file.stat();
      if (!stats.isFile()) throw new Error(`audit log ${absolute} is not a regular file`);
      const { mode, size } = stats;
      if ((mode & 0o077) !== 0) await file.chmod(0o600);
      const { head, repaired } = await resumeChain(file, absolute, resolved.repairTruncatedTail);
      if (size === 0 && resolved.fsync !== 'never') await syncDirectory(dirname(absolute));
      const stored = { head, size: (await file.stat()).size };
      await file.close();
      return new FileAuditLog(absolute, stored, repaired, { ...options, ...resolved });
    } catch (error) {
      openPaths.delete(absolute);
      await file?.close().catch(() => {});
      throw error;
    }
  }

  /** Whether the last write succeeded; while not, appends are still tried (and a probe runs). */
  get health(): AuditHealth {
    const failure = this.#failure;
    if (failure === null) return { healthy: true };
    return { healthy: false, since: failure.since.toISOString(), error: messageOf(failure.error.cause) };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#closing !== null) return Promise.reject(new Error(`audit log ${this.path} is closed`));
    let sealed: { record: AuditRecord; line: Buffer };
    try {
      sealed = sealRecord(entry, {
        seq: this.#head.nextSeq,
        prevHash: this.#head.prevHash,
        time: new Date(),
      });
    } catch (error) {
      return Promise.reject(error);
    }
    // The chain advances now, synchronously, so seq order is call order.
    this.#head = { nextSeq: sealed.record.seq + 1, prevHash: sealed.record.hash };
    const { promise, resolve, reject } = Promise.withResolvers<AuditRecord>();
    this.#queue.push({ ...sealed, resolve, reject });
    this.#writing ??= this.#drain();
    return promise;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Writes queued records in batches until the queue is empty, then closes the file. Never rejects. */
  async #drain(): Promise<void> {
    for (;;) {
      while (this.#queue.length > 0) await this.#writeBatch();
      await this.#closeFile();
      if (this.#queue.length === 0) break;
    }
    this.#writing = null;
  }

  async #writeBatch(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    const bytes = batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((p) => p.line));
    try {
      const file = await this.#writableFile();
      this.#dirtyTail = true;
      await writeAll(file, bytes);
      if (this.#fsync !== 'always') this.#unsynced = true;
      this.#dirtyTail = false;
    } catch (error) {
      await this.#writeFailed(error as Error, batch);
      return;
    }
    const last = batch.at(-1)!.record;
    const head = { nextSeq: last.seq + 1, prevHash: last.hash };
    this.#stored = { head, size: this.#stored.size + bytes.length };
    this.#healthy();
    for (const pending of batch) pending.resolve(pending.record);
  }

  /** The open file, ending exactly after the last good record (a torn tail is cut first). */
  async #writableFile(): Promise<FileHandle> {
    if (this.#file !== null && !this.#dirtyTail) return this.#file;
    this.#file ??= await this.#openForAppend();
    if (this.#dirtyTail) await this.#cutTail();
    const { size } = await this.#file.stat();
    if (size !== this.#stored.size) {
      throw new Error(
        `the file is ${size} bytes but its last good record ends at byte ${this.#stored.size}: it was changed by another writer`,
      );
    }
    return this.#file;
  }

  /** Cuts the file back to the end of the last good record. */
  async #cutTail(): Promise<void> {
    this.#file ??= await this.#openForAppend();
    await this.#file.truncate(this.#stored.size);
    await this.#file.datasync();
    this.#dirtyTail = false;
  }

  #openForAppend(): Promise<FileHandle> {
    return open(this.path, this.#fsync === 'always' ? APPEND_DURABLY : 'a', 0o600);
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.close().catch(() => {});
  }

  /**
   * A batch was not stored: reject it and every record sealed after it (they chain to it), rewind the chain to
   * the last good record and cut what part of the batch reached the file.
   */
  async #writeFailed(cause: Error, batch: PendingRecord[]): Promise<void> {
    const error = this.#unhealthy(cause);
    const rejected = [...batch, ...this.#queue];
    this.#queue = [];
    this.#head = this.#stored.head;
    for (const pending of rejected) pending.reject(error);
    // Only bytes this writer may have written are cut: never a file that another writer changed.
    if (!this.#dirtyTail) return;
    try {
      await this.#cutTail();
    } catch {
      // Read-only or failing: cut before the next write, or when a probe finds the file system writable.
    }
  }

  #unhealthy(cause: Error): AuditUnavailableError {
    const error = new AuditUnavailableError(this.path, cause);
    const first = this.#failure === null;
    this.#failure = { error, since: this.#failure?.since ?? new Date() };
    if (first) this.#report();
    this.#probe ??= setInterval(() => void this.#probeOnce(), this.#probeMs).unref();
    return error;
  }

  #healthy(): void {
    if (this.#failure === null) return;
    this.#failure = null;
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    this.#report();
  }

  #report(): void {
    try {
      this.#onHealthChange?.(this.health);
    } catch {
      // The observer must not break the log.
    }
  }

  /** While unhealthy and idle: is the file system writable again (and the torn tail cut)? */
  async #probeOnce(): Promise<void> {
    if (this.#failure === null || this.#writing !== null || this.#closing !== null) return;
    const probing = (async () => {
      try {
        if (this.#dirtyTail) await this.#cutTail();
        // The log itself must open for appending too (a file made read-only is not cured by free space).
        await this.#writableFile();
        await probeWritable(this.path);
        if (this.#unsynced) await this.#syncFile();
        this.#healthy();
      } catch (error) {
        this.#unhealthy(error as Error);
      }
      await this.#closeFile();
    })();
    this.#writing = probing.then(() => {
      this.#writing = null;
      if (this.#queue.length > 0) this.#writing = this.#drain();
    });
    await this.#writing;
  }

  #syncTick(): void {
    if (!this.#unsynced || this.#syncing !== null || this.#failure !== null) return;
    this.#syncing = this.#syncFile().then(
      () => {
        this.#syncing = null;
      },
      (error: Error) => {
        // The records were acknowledged on write: keep them, and sync again once the probe succeeds.
        this.#syncing = null;
        this.#unsynced = true;
        this.#unhealthy(error);
      },
    );
  }

  /** Makes what was written durable (a sync through any descriptor of the file flushes its data). */
  async #syncFile(): Promise<void> {
    this.#unsynced = false;
    const file = await open(this.path, 'r');
    try {
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  async #shutdown(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    try {
      while (this.#writing !== null) await this.#writing;
      await this.#syncing;
      if (this.#dirtyTail) await this.#cutTail().catch(() => {});
      if (this.#failure === null && this.#fsync !== 'always') await this.#syncFile();
    } finally {
      await this.#closeFile();
      openPaths.delete(this.path);
    }
    if (this.#failure !== null) throw this.#failure.error;
  }
}
