// A job's stdout+stderr as the isolate host sees it: counts UTF-8 bytes against the job's cap, keeps the first
// bytes on overflow (never splitting a character), and forwards what it keeps in small batches.
// Must never keep or forward a byte past the cap.

import type { OutputStream } from '@airlock/protocol';
import type { OutputChunk } from './host-messages.ts';

/** Flush a batch once it holds this many bytes, or after FLUSH_DELAY_MS, whichever comes first. */
export const BATCH_BYTES = 16 * 1024;
export const FLUSH_DELAY_MS = 5;

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8 without cutting a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.toString('utf8', 0, end);
}

export class CappedOutput {
  readonly truncated = { stdout: false, stderr: false };
  #bytesLeft: number;
  #pending: OutputChunk[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #send: (chunks: OutputChunk[]) => void;

  constructor(capBytes: number, send: (chunks: OutputChunk[]) => void) {
    this.#bytesLeft = capBytes;
    this.#send = send;
  }

  get overflowed(): boolean {
    return this.truncated.stdout || this.truncated.stderr;
  }

  /** Bytes of the cap not yet used by output (a cell's value is counted against what is left). */
  get bytesLeft(): number {
    return this.#bytesLeft;
  }

  /** Returns false when the text did not fit: what fits is kept, the stream is marked truncated. */
  write(stream: OutputStream, text: string): boolean {
    if (this.#closed || this.overflowed) return false;
    const size = Buffer.byteLength(text, 'utf8');
    let kept = text;
    let keptBytes = size;
    if (size > this.#bytesLeft) {
      kept = utf8Prefix(text, this.#bytesLeft);
      keptBytes = Buffer.byteLength(kept, 'utf8');
      this.truncated[stream] = true;
    }
    this.#bytesLeft -= keptBytes;
    if (kept !== '') this.#queue(stream, kept, keptBytes);
    return !this.overflowed;
  }

  #queue(stream: OutputStream, text: string, bytes: number): void {
    const last = this.#pending.at(-1);
    if (last !== undefined && last.stream === stream) last.text += text;
    else this.#pending.push({ stream, text });
    this.#pendingBytes += bytes;
    if (this.#pendingBytes >= BATCH_BYTES) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), FLUSH_DELAY_MS);
  }

  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const chunks = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#send(chunks);
  }

  /** Sends what is pending and takes nothing more. */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  /** Takes nothing more and returns what is pending instead of sending it (it rides along with the result). */
  drain(): OutputChunk[] {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#closed = true;
    const chunks = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return chunks;
  }
}
