// The audit log as an append-only JSON Lines file with one writer: each append() is sealed into the hash chain
// the moment it is called and written in that order, with group commit when every record must be durable.
// Must never write anything but the sealed entry (no secrets come from here), never rewrite a complete line,
// and never let two writers in this process continue the same chain.

import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AuditSink } from './audit-sink.ts';
import { type ChainHead, resumeChain, type TailRepair } from './log-tail.ts';
import type { AuditEntry, AuditRecord } from './record.ts';
import { sealRecord } from './seal.ts';

export type FsyncMode = 'always' | 'interval' | 'never';

const FSYNC_MODES: readonly string[] = ['always', 'interval', 'never'];

export interface FileAuditLogOptions {
  /**
   * When a record counts as stored.
   * - 'always': append() resolves after the record is written and fdatasync'ed. Records appended while a
   *   write+fdatasync is in flight are written and synced together in the next batch (group commit).
   * - 'interval': append() resolves after the write; the file is fdatasync'ed every `intervalMs`.
   * - 'never': append() resolves after the write; the OS decides when it reaches the disk.
   * close() fsyncs in every mode.
   * @default 'always'
   */
  fsync?: FsyncMode;
  /** Milliseconds between fdatasyncs in 'interval' mode. @default 200 */
  intervalMs?: number;
  /**
   * A crash in the middle of a write can leave a final line without its newline. By default open() refuses
   * such a file, naming the line. With true, open() drops that incomplete final line (it was never
   * acknowledged to a caller) and reports it in `repairedTail`. A complete line that is corrupt is never
   * dropped: open() refuses it either way.
   * @default false
   */
  repairTruncatedTail?: boolean;
}

interface PendingRecord {
  record: AuditRecord;
  line: Buffer;
  resolve: (record: AuditRecord) => void;
  reject: (error: Error) => void;
}

/** Absolute paths with an open writer in this process. */
const openPaths = new Set<string>();

export class FileAuditLog implements AuditSink {
  /** Absolute path of the log file. */
  readonly path: string;
  /** The incomplete final line dropped by repairTruncatedTail, or null when nothing was dropped. */
  readonly repairedTail: TailRepair | null;
  readonly #file: FileHandle;
  readonly #fsync: FsyncMode;
  readonly #timer: NodeJS.Timeout | null;
  #head: ChainHead;
  #queue: PendingRecord[] = [];
  #writing: Promise<void> | null = null;
  #syncing: Promise<void> | null = null;
  #unsynced = false;
  #failure: Error | null = null;
  #closing: Promise<void> | null = null;

  private constructor(
    path: string,
    file: FileHandle,
    head: ChainHead,
    repaired: TailRepair | null,
    fsync: FsyncMode,
    intervalMs: number,
  ) {
    this.path = path;
    this.#file = file;
    this.#head = head;
    this.repairedTail = repaired;
    this.#fsync = fsync;
    this.#timer = fsync === 'interval' ? setInterval(() => this.#syncTick(), intervalMs).unref() : null;
  }

  /**
   * Opens (creating it and its parent directories if needed, mode 0600) the log at `path` and resumes its
   * chain from the last record. Rejects with a CorruptAuditLogError naming the line if the tail is corrupt.
   */
  static async open(path: string, options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    const { fsync, intervalMs, repairTruncatedTail } = readOptions(options);
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
      const { head, repaired } = await resumeChain(file, absolute, repairTruncatedTail);
      if (size === 0 && fsync !== 'never') await syncDirectory(dirname(absolute));
      return new FileAuditLog(absolute, file, head, repaired, fsync, intervalMs);
    } catch (error) {
      openPaths.delete(absolute);
      await file?.close();
      throw error;
    }
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
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

  /** Writes queued records in batches until the queue is empty. Never rejects. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && this.#failure === null) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await writeAll(
          this.#file,
          batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((p) => p.line)),
        );
        if (this.#fsync === 'always') await this.#file.datasync();
        else this.#unsynced = true;
      } catch (error) {
        this.#fail(error as Error, batch);
        break;
      }
      for (const pending of batch) pending.resolve(pending.record);
    }
    this.#writing = null;
  }

  #syncTick(): void {
    if (!this.#unsynced || this.#syncing !== null || this.#failure !== null) return;
    this.#unsynced = false;
    this.#syncing = this.#file.datasync().then(
      () => {
        this.#syncing = null;
      },
      (error: Error) => {
        this.#syncing = null;
        this.#fail(error, []);
      },
    );
  }

  /**
   * After a failed write or sync the chain on disk is uncertain: refuse everything until reopened. Records of
   * a failed batch that reached the file whole stay in it (over-recording, never under-recording); reopening
   * resumes after the last complete line (a partial one needs repairTruncatedTail).
   */
  #fail(cause: Error, batch: PendingRecord[]): void {
    this.#failure = new Error(
      `audit log ${this.path}: ${cause.message}; it accepts no more records — reopen it to resume the chain`,
      { cause },
    );
    for (const pending of [...batch, ...this.#queue]) pending.reject(this.#failure);
    this.#queue = [];
  }

  async #shutdown(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    try {
      await this.#writing;
      await this.#syncing;
      if (this.#failure === null) await this.#file.sync();
    } finally {
      await this.#file.close();
      openPaths.delete(this.path);
    }
    if (this.#failure !== null) throw this.#failure;
  }
}

function readOptions(options: FileAuditLogOptions): Required<FileAuditLogOptions> {
  const { fsync = 'always', intervalMs = 200, repairTruncatedTail = false } = options;
  if (!FSYNC_MODES.includes(fsync)) {
    throw new TypeError(
      `FileAuditLog option 'fsync' must be 'always', 'interval' or 'never', got ${String(fsync)} (${typeof fsync})`,
    );
  }
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 2_147_483_647) {
    throw new TypeError(
      `FileAuditLog option 'intervalMs' must be a positive integer, got ${String(intervalMs)} (${typeof intervalMs})`,
    );
  }
  if (typeof repairTruncatedTail !== 'boolean') {
    throw new TypeError(
      `FileAuditLog option 'repairTruncatedTail' must be a boolean, got ${String(repairTruncatedTail)} (${typeof repairTruncatedTail})`,
    );
  }
  return { fsync, intervalMs, repairTruncatedTail };
}

async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Makes a newly created file's directory entry durable. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
