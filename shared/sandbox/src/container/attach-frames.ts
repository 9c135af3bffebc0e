// Splits Docker's multiplexed attach stream (Tty=false) into stdout and stderr payloads: each frame is an
// 8-byte header [stream, 0, 0, 0, size (uint32 BE)] followed by size bytes. Frames may arrive split anywhere.
// It must never buffer more than one frame header plus what the caller has not consumed yet.

export type FrameStream = 'stdout' | 'stderr';

export class AttachFrameParser {
  readonly #onPayload: (stream: FrameStream, payload: Buffer) => void;
  #header = Buffer.alloc(8);
  #headerFill = 0;
  #stream: number = 0;
  #remaining = 0;

  constructor(onPayload: (stream: FrameStream, payload: Buffer) => void) {
    this.#onPayload = onPayload;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining === 0) {
        const take = Math.min(8 - this.#headerFill, chunk.length - offset);
        chunk.copy(this.#header, this.#headerFill, offset, offset + take);
        this.#headerFill += take;
        offset += take;
        if (this.#headerFill < 8) return;
        this.#headerFill = 0;
        this.#stream = this.#header[0]!;
        this.#remaining = this.#header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - offset);
      const payload = chunk.subarray(offset, offset + take);
      offset += take;
      this.#remaining -= take;
      // Stream 0 (stdin echo) never carries anything for a non-tty container; ignore it if it does.
      if (this.#stream === 1) this.#onPayload('stdout', payload);
      else if (this.#stream === 2) this.#onPayload('stderr', payload);
    }
  }
}
