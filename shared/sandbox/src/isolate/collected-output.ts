// The parent's copy of one job's output: appends the chunks a host streams, passes each to the caller's
// onOutput, and enforces the job's byte cap again so a misbehaving host cannot grow the parent's memory.
// Must never hold more than the cap, and never let a throwing onOutput callback break the job.

import type { OutputStream } from '@airlock/protocol';
import { utf8Prefix } from './capped-output.ts';
import type { OutputChunk } from './host-messages.ts';

export class CollectedOutput {
  readonly truncated = { stdout: false, stderr: false };
  readonly #parts: Record<OutputStream, string[]> = { stdout: [], stderr: [] };
  readonly #onOutput: ((stream: OutputStream, chunk: string) => void) | undefined;
  #bytesLeft: number;

  constructor(capBytes: number, onOutput?: (stream: OutputStream, chunk: string) => void) {
    this.#bytesLeft = capBytes;
    this.#onOutput = onOutput;
  }

  add(chunks: OutputChunk[]): void {
    for (const { stream, text } of chunks) {
      if (text === '') continue;
      let kept = text;
      if (text.length > this.#bytesLeft || Buffer.byteLength(text, 'utf8') > this.#bytesLeft) {
        kept = utf8Prefix(text, this.#bytesLeft);
        this.truncated[stream] = true;
      }
      if (kept === '') continue;
      this.#bytesLeft -= Buffer.byteLength(kept, 'utf8');
      this.#parts[stream].push(kept);
      try {
        this.#onOutput?.(stream, kept);
      } catch {
        // The caller's listener failing is not the job's fault; the output is still collected.
      }
    }
  }

  text(stream: OutputStream): string {
    return this.#parts[stream].join('');
  }
}
