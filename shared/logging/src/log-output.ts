// Where the service log goes (stdout by default), written so that a broken destination can never hang or crash
// the process: a line that cannot be written (full disk, closed pipe, a reader too slow to keep up) is dropped
// and counted, never retried. Files and terminals are written synchronously, a line at a time; pipes and
// sockets through Node's non-blocking stream, holding back at most `maxBacklogBytes`.
// Must never throw from write(), never block on a pipe, and never loop on a failing write (at exit or ever).

import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';

export interface LogOutputOptions {
  /** The file descriptor lines go to. @default 1 (stdout) */
  fd?: number;
  /**
   * Bytes a pipe or socket may hold back while its reader is slow; lines beyond are dropped.
   * @default 1048576
   */
  maxBacklogBytes?: number;
}

const DEFAULT_BACKLOG_BYTES = 1024 * 1024;

export class LogOutput {
  readonly #fd: number;
  readonly #maxBacklogBytes: number;
  /** Set for a pipe or socket; undefined when lines go straight to the file descriptor. */
  readonly #stream: Writable | undefined;
  #writeErrors = 0;

  constructor(options: LogOutputOptions = {}) {
    this.#fd = options.fd ?? 1;
    this.#maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_BACKLOG_BYTES;
    this.#stream = streamFor(this.#fd);
    this.#stream?.on('error', () => {
      // Counted by the failed write's callback; the listener keeps an error from crashing the process.
    });
  }

  /** Log lines dropped so far because they could not be written (write error, or the backlog was full). */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Writes one line (pino's DestinationStream); never throws, never blocks on a pipe. */
  write(line: string): void {
    const stream = this.#stream;
    if (stream === undefined) {
      this.#writeDirect(line);
      return;
    }
    if (stream.destroyed || stream.writableLength >= this.#maxBacklogBytes) {
      this.#writeErrors++;
      return;
    }
    stream.write(line, (error) => {
      if (error) this.#writeErrors++;
    });
  }

  /** Resolves once what is held back is written, the destination failed, or `timeoutMs` passed. */
  flush(timeoutMs: number): Promise<void> {
    const stream = this.#stream;
    if (stream === undefined || stream.destroyed || stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      stream.once('drain', done);
      stream.once('close', done);
    });
  }

  /** A file or terminal: a synchronous write (and its remainder after a short one); a failure drops the rest. */
  #writeDirect(line: string): void {
    let rest = Buffer.from(line, 'utf8');
    try {
      while (rest.length > 0) {
        const written = writeSync(this.#fd, rest);
        if (written <= 0) throw new Error('nothing written');
        rest = rest.subarray(written);
      }
    } catch {
      this.#writeErrors++;
    }
  }
}

/** Node's non-blocking stream for a pipe or socket; undefined for anything written synchronously. */
function streamFor(fd: number): Writable | undefined {
  let stats: ReturnType<typeof fstatSync>;
  try {
    stats = fstatSync(fd);
  } catch {
    return undefined; // a closed descriptor: every write fails and is counted
  }
  if (!stats.isFIFO() && !stats.isSocket()) return undefined;
  // stdout and stderr already have their stream (or get it on first use); a second handle on the same
  // descriptor would fight it for the event loop.
  if (fd === 1) return process.stdout;
  if (fd === 2) return process.stderr;
  return new Socket({ fd, readable: false, writable: true });
}
