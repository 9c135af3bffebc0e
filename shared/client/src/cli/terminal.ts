// Where the `airlock` command writes: stdout for results and the program's own output, stderr for the program's
// stderr, messages and progress. Progress and colour only when stderr is a terminal (and colour only when the
// terminal and NO_COLOR/FORCE_COLOR/TERM allow it); without a terminal no escape code is ever written.

import { styleText } from 'node:util';

/** What the command needs of a writable stream: process.stdout/stderr fit. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  hasColors?: (env?: Record<string, string | undefined>) => boolean;
}

type Style = 'red' | 'green' | 'yellow' | 'dim' | 'bold';

export class Terminal {
  readonly out: OutputStream;
  readonly err: OutputStream;
  /** Progress lines (states, saved files, a summary) are written: stderr is a terminal. */
  readonly progress: boolean;
  readonly #colour: boolean;
  /** Whether the last text written to each stream ended a line, so a message never sticks to output. */
  #atLineStart = { out: true, err: true };

  constructor(out: OutputStream, err: OutputStream, env: Record<string, string | undefined>) {
    this.out = out;
    this.err = err;
    this.progress = err.isTTY === true;
    this.#colour = this.progress && (err.hasColors?.(env) ?? false);
  }

  /** Program output (or a result) as is. */
  stdout(text: string): void {
    if (text === '') return;
    this.out.write(text);
    this.#atLineStart.out = text.endsWith('\n');
  }

  /** The program's stderr as is. */
  stderr(text: string): void {
    if (text === '') return;
    this.err.write(text);
    this.#atLineStart.err = text.endsWith('\n');
  }

  /** A message line on stderr (always written: errors, outcomes other than success). */
  message(text: string, style?: Style): void {
    this.#lineStartBoth();
    this.err.write(`${this.paint(text, style)}\n`);
  }

  /** A progress line on stderr, only on a terminal. */
  note(text: string, style: Style = 'dim'): void {
    if (this.progress) this.message(text, style);
  }

  paint(text: string, style?: Style): string {
    if (!this.#colour || style === undefined) return text;
    return styleText(style, text, { validateStream: false });
  }

  #lineStartBoth(): void {
    // A message starts on a line of its own: after the program's unfinished stderr line, and on a terminal
    // (where stdout and stderr share the screen) after an unfinished stdout line too.
    const open = !this.#atLineStart.err || (this.progress && !this.#atLineStart.out);
    if (open) this.err.write('\n');
    this.#atLineStart = { out: this.progress ? true : this.#atLineStart.out, err: true };
  }
}
