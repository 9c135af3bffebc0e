// Streams the lines of a file in fixed-size chunks, splitting on '\n' only, with a small look-ahead.
// Must never load the whole file, and never hold more than MAX_RECORD_BYTES of one line: readline is not used
// because it also splits on a lone '\r' (misnumbering lines of a tampered file) and hides whether the last
// line ended with a newline.

import type { FileHandle } from 'node:fs/promises';
import { MAX_RECORD_BYTES } from './record.ts';

const CHUNK_BYTES = 64 * 1024;

export type RawLine =
  /** 1-based line number; `terminated` is false only for a last line without '\n'. */
  | { number: number; terminated: boolean; text: string }
  | { number: number; terminated: boolean; text: null; problem: string };

/** Yields the lines of bytes [0, size) of an open file. */
async function* splitLines(file: FileHandle, size: number): AsyncGenerator<RawLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parts: Buffer[] = [];
  let length = 0;
  let overlong = false;
  let number = 0;
  const finish = (terminated: boolean): RawLine => {
    number += 1;
    if (overlong) {
      return {
        number,
        terminated,
        text: null,
        problem: `line is longer than ${MAX_RECORD_BYTES} bytes: not a record`,
      };
    }
    try {
      return { number, terminated, text: decoder.decode(Buffer.concat(parts, length)) };
    } catch {
      return { number, terminated, text: null, problem: 'line is not valid UTF-8' };
    }
  };
  const take = (bytes: Buffer) => {
    length += bytes.length;
    if (length >= MAX_RECORD_BYTES) {
      overlong = true;
      parts = [];
    } else if (bytes.length > 0) {
      parts.push(bytes);
    }
  };
  let position = 0;
  while (position < size) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
    const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    let start = 0;
    for (let end = chunk.indexOf(10, 0); end !== -1 && end < bytesRead; end = chunk.indexOf(10, start)) {
      take(chunk.subarray(start, end));
      yield finish(true);
      parts = [];
      length = 0;
      overlong = false;
      start = end + 1;
    }
    take(chunk.subarray(start, bytesRead));
  }
  if (length > 0 || overlong) yield finish(false);
}

/** Lines of a file with look-ahead, so a verifier can tell a removed record from a reordered one. */
export class LineReader {
  readonly #lines: AsyncGenerator<RawLine>;
  readonly #ahead: RawLine[] = [];
  #done = false;

  constructor(file: FileHandle, size: number) {
    this.#lines = splitLines(file, size);
  }

  async next(): Promise<RawLine | null> {
    if (this.#ahead.length > 0) return this.#ahead.shift() ?? null;
    return this.#pull();
  }

  /** The line `distance` lines after the one next() returned last (1 = the next one), or null past the end. */
  async peek(distance: number): Promise<RawLine | null> {
    while (this.#ahead.length < distance) {
      const line = await this.#pull();
      if (line === null) return null;
      this.#ahead.push(line);
    }
    return this.#ahead[distance - 1] ?? null;
  }

  async #pull(): Promise<RawLine | null> {
    if (this.#done) return null;
    const result = await this.#lines.next();
    if (result.done) {
      this.#done = true;
      return null;
    }
    return result.value;
  }
}
