// The file audit log's options, read and checked once when the log opens, and the health it reports.
// Must refuse a bad option with a TypeError naming it, never fall back silently.

export type FsyncMode = 'always' | 'interval' | 'never';

const FSYNC_MODES: readonly string[] = ['always', 'interval', 'never'];

export interface FileAuditLogOptions {
  /**
   * When a record counts as stored.
   * - 'always': append() resolves after the record is written durably (O_DSYNC: as write + fdatasync).
   *   Records appended while such a write is in flight are written together in the next batch (group commit).
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
  /** Milliseconds between probes of the file system while the log is unhealthy. @default 1000 */
  probeIntervalMs?: number;
  /** Called when the log turns unhealthy (a write failed) and when it is healthy again. */
  onHealthChange?: (health: AuditHealth) => void;
}

/** Whether the log takes records now. */
export type AuditHealth =
  | { healthy: true }
  | {
      healthy: false;
      /** When the first failed write of this spell happened (ISO 8601). */
      since: string;
      /** The file system's error, e.g. `ENOSPC: no space left on device, write`. */
      error: string;
    };

/** Why an append was refused: the log's file cannot be written now (it retries on its own). */
export class AuditUnavailableError extends Error {
  readonly path: string;

  constructor(path: string, cause: Error) {
    super(`audit log ${path} cannot be written: ${cause.message}`, { cause });
    this.name = 'AuditUnavailableError';
    this.path = path;
  }
}

export type ResolvedOptions = Required<Omit<FileAuditLogOptions, 'onHealthChange'>>;

export function readOptions(options: FileAuditLogOptions): ResolvedOptions {
  const { fsync = 'always', intervalMs = 200, repairTruncatedTail = false, probeIntervalMs = 1000 } = options;
  if (!FSYNC_MODES.includes(fsync)) {
    throw new TypeError(
      `FileAuditLog option 'fsync' must be 'always', 'interval' or 'never', got ${String(fsync)} (${typeof fsync})`,
    );
  }
  for (const [name, value] of [
    ['intervalMs', intervalMs],
    ['probeIntervalMs', probeIntervalMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
      throw new TypeError(
        `FileAuditLog option '${name}' must be a positive integer, got ${String(value)} (${typeof value})`,
      );
    }
  }
  if (typeof repairTruncatedTail !== 'boolean') {
    throw new TypeError(
      `FileAuditLog option 'repairTruncatedTail' must be a boolean, got ${String(repairTruncatedTail)} (${typeof repairTruncatedTail})`,
    );
  }
  return { fsync, intervalMs, repairTruncatedTail, probeIntervalMs };
}
