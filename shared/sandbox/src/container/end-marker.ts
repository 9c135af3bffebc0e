// Finds the runner's end marker (`\n\x1eAIRLOCK-END <nonce> `) in one output stream and splits the stream into
// what the program wrote (before the marker, passed on as it arrives) and the runner's trailer (after it).
// Only the job's nonce counts: a program cannot know it, so text it prints can never end the job early.
// It must never pass on bytes that could be the start of the marker, and never hold more than `trailerLimit`
// bytes of trailer.

export class MarkedStream {
  readonly #marker: Buffer;
  readonly #onProgramBytes: (bytes: Buffer) => void;
  readonly #trailerLimit: number;
  #pending: Buffer = Buffer.alloc(0);
  #trailer: Buffer[] = [];
  #trailerStored = 0;
  #trailerSeen = 0;
  #markerSeen = false;

  constructor(nonce: string, onProgramBytes: (bytes: Buffer) => void, trailerLimit: number) {
    this.#marker = Buffer.from(`\n\x1eAIRLOCK-END ${nonce} `, 'latin1');
    this.#onProgramBytes = onProgramBytes;
    this.#trailerLimit = trailerLimit;
  }

  get markerSeen(): boolean {
    return this.#markerSeen;
  }

  /** Every trailer byte seen, including those past the limit (which are counted, not kept). */
  get trailerBytesSeen(): number {
    return this.#trailerSeen;
  }

  /** The kept trailer (at most trailerLimit bytes). */
  trailer(): Buffer {
    if (this.#trailer.length > 1) this.#trailer = [Buffer.concat(this.#trailer)];
    return this.#trailer[0] ?? Buffer.alloc(0);
  }

  push(chunk: Buffer): void {
    if (this.#markerSeen) {
      this.#keepTrailer(chunk);
      return;
    }
    const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const at = data.indexOf(this.#marker);
    // State first, callback last: the callback may end this stream (the job is being stopped).
    if (at >= 0) {
      this.#pending = Buffer.alloc(0);
      this.#markerSeen = true;
      this.#keepTrailer(data.subarray(at + this.#marker.length));
      if (at > 0) this.#onProgramBytes(data.subarray(0, at));
      return;
    }
    const hold = this.#partialMarkerAtEnd(data);
    this.#pending = Buffer.from(data.subarray(data.length - hold));
    if (data.length - hold > 0) this.#onProgramBytes(data.subarray(0, data.length - hold));
  }

  /** The stream ended without a marker: what was held back was the program's after all. */
  end(): void {
    if (!this.#markerSeen && this.#pending.length > 0) this.#onProgramBytes(this.#pending);
    this.#pending = Buffer.alloc(0);
  }

  #keepTrailer(bytes: Buffer): void {
    this.#trailerSeen += bytes.length;
    const room = this.#trailerLimit - this.#trailerStored;
    if (room <= 0 || bytes.length === 0) return;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.#trailer.push(Buffer.from(kept));
    this.#trailerStored += kept.length;
  }

  /** Length of the longest end of data that is a beginning of the marker. */
  #partialMarkerAtEnd(data: Buffer): number {
    const max = Math.min(data.length, this.#marker.length - 1);
    for (let k = max; k > 0; k--) {
      const start = data.length - k;
      if (data[start] !== 0x0a) continue;
      if (data.subarray(start).equals(this.#marker.subarray(0, k))) return k;
    }
    return 0;
  }
}

export interface StderrSummary {
  exitCode: number | null;
  signal: string | null;
  cpuMs: number;
  maxrssKb: number;
  outFiles: number;
  outSkipped: number;
  outTruncated: boolean;
}

const STDERR_FIELDS =
  /^exit=(-|\d+) signal=(-|[A-Z0-9+-]+) cpu_ms=(\d+) maxrss_kb=(\d+) out_files=(\d+) out_skipped=(\d+) out_truncated=([01])$/;

/** Parses the stderr trailer; undefined while its line is incomplete, null when it is malformed. */
export function parseStderrTrailer(trailer: Buffer): StderrSummary | null | undefined {
  const nl = trailer.indexOf(0x0a);
  if (nl < 0) return trailer.length > 512 ? null : undefined;
  const match = STDERR_FIELDS.exec(trailer.subarray(0, nl).toString('latin1'));
  if (!match) return null;
  const [, exit, signal, cpu, rss, files, skipped, truncated] = match;
  return {
    exitCode: exit === '-' ? null : Number(exit),
    signal: signal === '-' ? null : signal!,
    cpuMs: Number(cpu),
    maxrssKb: Number(rss),
    outFiles: Number(files),
    outSkipped: Number(skipped),
    outTruncated: truncated === '1',
  };
}

export interface StdoutTrailer {
  /** Size of the output archive announced by the runner. */
  tarBytes: number;
  /** Offset of the archive within the trailer. */
  tarOffset: number;
}

/** Parses `out_tar=<N>\n`; undefined while incomplete, null when malformed. */
export function parseStdoutTrailer(trailer: Buffer): StdoutTrailer | null | undefined {
  const nl = trailer.indexOf(0x0a);
  if (nl < 0) return trailer.length > 64 ? null : undefined;
  const match = /^out_tar=(\d{1,12})$/.exec(trailer.subarray(0, nl).toString('latin1'));
  if (!match) return null;
  return { tarBytes: Number(match[1]), tarOffset: nl + 1 };
}
