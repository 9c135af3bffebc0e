// Removes a secret from what flows back into the sandbox: its raw form, its base64 forms (standard and
// URL-safe, at each of the three byte alignments it can have inside a longer encoded string), its URL-encoded
// forms and its JSON-escaped form. Each match is replaced by as many `*` as it had characters, so lengths
// (and Content-Length) stay right. Streams keep a tail as long as the longest pattern, so a secret split
// across chunks is still found.

import { Transform, type TransformCallback } from 'node:stream';

function base64Cores(value: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), value]).toString('base64');
    // Characters made only of the secret's bits: skip those touching the filler or the bytes after it.
    const first = Math.ceil((offset * 8) / 6);
    const last = Math.floor(((offset + value.length) * 8) / 6); // exclusive
    const core = encoded.slice(first, last);
    if (core.length >= 4) cores.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return cores;
}

/** The byte patterns (latin1 strings) under which `secret` may appear. */
export function secretForms(secret: string): string[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([
    utf8.toString('latin1'),
    ...base64Cores(utf8),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    encodeURIComponent(secret).replaceAll('%20', '+'),
    JSON.stringify(secret).slice(1, -1),
  ]);
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

export class SecretScrubber {
  readonly #forms: string[];
  readonly maxLength: number;

  constructor(secrets: readonly string[]) {
    this.#forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
    this.maxLength = Math.max(0, ...this.#forms.map((f) => f.length));
  }

  get empty(): boolean {
    return this.#forms.length === 0;
  }

  /** Replaces every form in a latin1 string. */
  scrubText(text: string): string {
    let out = text;
    for (const form of this.#forms) {
      if (out.includes(form)) out = out.replaceAll(form, '*'.repeat(form.length));
    }
    return out;
  }

  scrubHeaderValue(value: string | string[] | undefined): string | string[] | undefined {
    if (value === undefined) return undefined;
    // Header values reach Node as latin1 text of the raw bytes.
    return Array.isArray(value) ? value.map((v) => this.scrubText(v)) : this.scrubText(value);
  }

  stream(): Transform {
    const keep = Math.max(0, this.maxLength - 1);
    let tail = '';
    return new Transform({
      transform: (chunk: Buffer, _encoding, done: TransformCallback) => {
        const text = this.scrubText(tail + chunk.toString('latin1'));
        const cut = Math.max(0, text.length - keep);
        tail = text.slice(cut);
        done(null, cut > 0 ? Buffer.from(text.slice(0, cut), 'latin1') : undefined);
      },
      flush: (done: TransformCallback) => {
        done(null, tail.length > 0 ? Buffer.from(this.scrubText(tail), 'latin1') : undefined);
      },
    });
  }
}
