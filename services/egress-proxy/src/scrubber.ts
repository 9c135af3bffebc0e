// Removes a secret from what flows back into the sandbox, in every form `secret-patterns.ts` knows. Each match
// is replaced by as many `*` as it had characters, so lengths (and Content-Length) stay right and a header name
// stays a valid token. A stream holds back only the end of what it has seen that could still be the start of
// a form (never more than the longest form), so a secret split across chunks is found and memory stays
// bounded. It must never pass on bytes it has not scanned, nor buffer a whole body.

import { Transform, type TransformCallback } from 'node:stream';
import { SecretMatcher } from './secret-matcher.ts';
import { secretForms } from './secret-patterns.ts';

function masked(text: string, ranges: ReadonlyArray<readonly [number, number]>, end = text.length): string {
  if (ranges.length === 0) return end === text.length ? text : text.slice(0, end);
  let out = '';
  let at = 0;
  for (const [start, stop] of ranges) {
    out += text.slice(at, start) + '*'.repeat(stop - start);
    at = stop;
  }
  return out + text.slice(at, end);
}

export class SecretScrubber {
  readonly #matcher: SecretMatcher | null;

  constructor(secrets: readonly string[]) {
    const forms = secrets.flatMap(secretForms);
    this.#matcher = forms.length > 0 ? new SecretMatcher(forms) : null;
  }

  get empty(): boolean {
    return this.#matcher === null;
  }

  /** The longest text one form of the secret can take: the most a stream ever holds back. */
  get maxLength(): number {
    return this.#matcher?.longest ?? 0;
  }

  /** Replaces every form in a latin1 string (one character per byte). */
  scrubText(text: string): string {
    return this.#matcher ? masked(text, this.#matcher.find(text).ranges) : text;
  }

  /** Header names are case-insensitive, so every form is replaced in any case. */
  scrubHeaderName(name: string): string {
    return this.#matcher ? masked(name, this.#matcher.find(name, { ignoreCase: true }).ranges) : name;
  }

  stream(): Transform {
    const matcher = this.#matcher;
    let held = '';
    return new Transform({
      transform: (chunk: Buffer, _encoding, done: TransformCallback) => {
        if (!matcher) return done(null, chunk);
        const text = held + chunk.toString('latin1');
        const { ranges, cutOffAt } = matcher.find(text, { stream: true });
        held = text.slice(cutOffAt);
        done(null, cutOffAt > 0 ? Buffer.from(masked(text, ranges, cutOffAt), 'latin1') : undefined);
      },
      flush: (done: TransformCallback) => {
        done(null, held.length > 0 ? Buffer.from(this.scrubText(held), 'latin1') : undefined);
      },
    });
  }
}
