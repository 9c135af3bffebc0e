// The job's output cap: stdout and stderr together may carry at most `limit` UTF-8 bytes. Bytes within the cap
// are decoded (split characters are carried over between chunks), kept for the result and passed to onOutput
// as they arrive; the first byte past the cap marks that stream truncated and ends the job's output.
// It must never keep or pass on a byte past the cap, nor cut a UTF-8 character in half.

import type { OutputStream } from '@airlock/protocol';

export class OutputBudget {
  readonly #limit: number;
  readonly #onOutput: ((stream: OutputStream, chunk: string) => void) | undefined;
  readonly #decoders = { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
  readonly #text = { stdout: [] as string[], stderr: [] as string[] };
  readonly truncated = { stdout: false, stderr: false };
  #used = 0;

  constructor(limit: number, onOutput?: (stream: OutputStream, chunk: string) => void) {
    this.#limit = limit;
    this.#onOutput = onOutput;
  }

  get exceeded(): boolean {
    return this.truncated.stdout || this.truncated.stderr;
  }

  /** Takes program bytes; returns false once the cap is exceeded (the caller then stops the program). */
  add(stream: OutputStream, bytes: Buffer): boolean {
    if (this.exceeded) return false;
    const room = this.#limit - this.#used;
    let kept = bytes;
    if (bytes.length > room) {
      let cut = Math.max(room, 0);
      // Back up to the start of a character so the kept part ends on a character boundary.
      while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
      kept = bytes.subarray(0, cut);
      this.truncated[stream] = true;
    }
    this.#used += kept.length;
    if (kept.length > 0) this.#emit(stream, this.#decoders[stream].decode(kept, { stream: true }));
    if (this.exceeded) {
      this.#flush(stream);
      return false;
    }
    return true;
  }

  /** Ends decoding (an incomplete character at the very end becomes U+FFFD). */
  finish(): { stdout: string; stderr: string } {
    if (!this.truncated.stdout) this.#flush('stdout');
    if (!this.truncated.stderr) this.#flush('stderr');
    return { stdout: this.#text.stdout.join(''), stderr: this.#text.stderr.join('') };
  }

  #flush(stream: OutputStream): void {
    // A character cut by the cap is dropped rather than shown as U+FFFD.
    const rest = this.truncated[stream] ? '' : this.#decoders[stream].decode();
    if (this.truncated[stream]) this.#decoders[stream].decode();
    this.#emit(stream, rest);
  }

  #emit(stream: OutputStream, text: string): void {
    if (text.length === 0) return;
    this.#text[stream].push(text);
    this.#onOutput?.(stream, text);
  }
}
