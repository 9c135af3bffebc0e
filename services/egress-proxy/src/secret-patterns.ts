// The forms under which a secret is recognised in a response, over latin1 text (one character per byte). A form
// is a sequence of slots, one per character of what is matched; a slot lists the spellings that character may
// have. The forms:
// - the secret's text: each character literally (UTF-8 bytes, or its one latin1 byte), percent-encoded (any hex
//   case), as a JSON/JavaScript escape (`\uXXXX` incl. surrogate pairs, `\xNN`, `\/` and a backslash before any
//   ASCII punctuation, `\b\f\n\r\t`), as an HTML/XML character reference (`&#NN;`, `&#xNN;` with up to 6
//   leading zeros, `&amp; &lt; &gt; &quot; &apos;`), a space also as `+`; each character chooses on its own;
// - base64 and base64url of its bytes at each of the three alignments (only the characters made of the
//   secret's bits alone), whose `+ / - _` may be spelled in any of the ways above;
// - hex of its bytes, any case.
// Forms only describe; `secret-matcher.ts` finds them. The description must stay linear in the secret's length
// and free of unbounded repetition (the longest form bounds what a stream holds back).

/** One character class (latin1 codes) repeated min..max times. Atoms are shared: never modify one. */
export interface Atom {
  readonly codes: readonly number[];
  /** The codes folded to lower case (ASCII), for case-insensitive matching. */
  readonly folded: readonly number[];
  readonly min: number;
  readonly max: number;
}
/** The spellings of one character (or base64/hex digit) of a form: each a sequence of atoms. */
export type Slot = readonly (readonly Atom[])[];
export type Form = readonly Slot[];

const ZERO_PADDING = 6;
const NAMED: Record<string, string> = { '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' };
const SHORT_ESCAPES: Record<number, string> = { 8: 'b', 12: 'f', 10: 'n', 13: 'r', 9: 't' };

export const foldCase = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
const atom = (codes: number[], min = 1, max = 1): Atom => ({
  codes,
  folded: [...new Set(codes.map(foldCase))],
  min,
  max,
});
const SINGLE: readonly Atom[] = Array.from({ length: 256 }, (_, c) => atom([c]));
const HEX_DIGIT: readonly Atom[] = Array.from({ length: 16 }, (_, d) => {
  const digit = d.toString(16);
  return atom([...new Set([digit.charCodeAt(0), digit.toUpperCase().charCodeAt(0)])]);
});
const ZEROS = atom([0x30], 0, ZERO_PADDING);
const X_EITHER_CASE = atom([0x78, 0x58]);

const one = (code: number): Atom => SINGLE[code & 0xff] as Atom;
/** Slots of one spelling of one atom (a base64 letter, a hex digit), shared like the atoms. */
const SINGLE_SLOT: readonly Slot[] = SINGLE.map((a) => [[a]]);
const HEX_SLOT: readonly Slot[] = HEX_DIGIT.map((a) => [[a]]);
const literal = (text: string): Atom[] => [...text].map((c) => one(c.charCodeAt(0)));
/** `value` in hex digits of either case, at least `width` of them. */
const hex = (value: number, width: number): Atom[] =>
  [...value.toString(16).padStart(width, '0')].map((d) => HEX_DIGIT[Number.parseInt(d, 16)] as Atom);
const percent = (bytes: Uint8Array): Atom[] => [...bytes].flatMap((b) => [one(0x25), ...hex(b, 2)]);
const isPunctuation = (c: number) =>
  (c >= 0x21 && c <= 0x2f) ||
  (c >= 0x3a && c <= 0x40) ||
  (c >= 0x5b && c <= 0x60) ||
  (c >= 0x7b && c <= 0x7e);

/** Every spelling of one character of the secret's text. */
function characterSlot(char: string): Slot {
  const code = char.codePointAt(0) as number;
  const utf8 = Buffer.from(char, 'utf8');
  const spellings: Atom[][] = [[...utf8].map(one), percent(utf8)];
  if (code >= 0x80 && code <= 0xff) spellings.push([one(code)], percent(Uint8Array.of(code)));
  if (code === 0x20) spellings.push([one(0x2b)]);
  const units = [...Array(char.length).keys()].map((i) => char.charCodeAt(i));
  spellings.push(units.flatMap((unit) => [...literal('\\u'), ...hex(unit, 4)]));
  if (code <= 0xff) spellings.push([...literal('\\x'), ...hex(code, 2)]);
  if (isPunctuation(code)) spellings.push(literal(`\\${char}`));
  const short = SHORT_ESCAPES[code];
  if (short) spellings.push(literal(`\\${short}`));
  spellings.push([...literal('&#'), ZEROS, ...literal(String(code)), one(0x3b)]);
  spellings.push([...literal('&#'), X_EITHER_CASE, ZEROS, ...hex(code, 1), one(0x3b)]);
  const named = NAMED[char];
  if (named) spellings.push(literal(`&${named};`));
  return spellings;
}

/** Characters that only appear literally (base64 letters and digits); the rest may be escaped. */
const isPlainDigit = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function base64Forms(bytes: Buffer, slotOf: (char: string) => Slot): Form[] {
  const forms: Form[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Characters made only of the secret's bits: skip those touching the filler or the bytes after it.
    const first = Math.ceil((offset * 8) / 6);
    const last = Math.floor(((offset + bytes.length) * 8) / 6); // exclusive
    const core = encoded.slice(first, last);
    if (core.length < 4) continue;
    for (const text of new Set([core, core.replaceAll('+', '-').replaceAll('/', '_')])) {
      const form: Slot[] = new Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        form[i] = isPlainDigit(c) ? (SINGLE_SLOT[c] as Slot) : slotOf(text[i] as string);
      }
      forms.push(form);
    }
  }
  return forms;
}

function hexForm(bytes: Buffer): Form {
  const form: Slot[] = new Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    form[2 * i] = HEX_SLOT[(bytes[i] as number) >> 4] as Slot;
    form[2 * i + 1] = HEX_SLOT[(bytes[i] as number) & 15] as Slot;
  }
  return form;
}

/** The byte sequences a secret may travel as: UTF-8, and latin1 (what Node writes in a header) if it differs. */
function byteForms(secret: string): Buffer[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const fitsLatin1 = [...secret].every((c) => (c.codePointAt(0) as number) <= 0xff);
  const bytes = fitsLatin1 ? Buffer.from(secret, 'latin1') : utf8;
  return bytes.equals(utf8) ? [utf8] : [utf8, bytes];
}

/** Slots of the first 256 code points, built on first use (they hold nothing of any secret but the character). */
const LATIN1_SLOTS: Array<Slot | undefined> = new Array(0x100);

export function secretForms(secret: string): Form[] {
  if (secret.length === 0) return [];
  // A character's slot depends on the character alone: build each once.
  const slots = new Map<string, Slot>();
  const slotOf = (char: string): Slot => {
    const code = char.codePointAt(0) as number;
    const known = code < 0x100 ? LATIN1_SLOTS[code] : slots.get(char);
    if (known) return known;
    const slot = characterSlot(char);
    if (code < 0x100) LATIN1_SLOTS[code] = slot;
    else slots.set(char, slot);
    return slot;
  };
  return [
    [...secret].map(slotOf),
    ...byteForms(secret).flatMap((bytes) => [...base64Forms(bytes, slotOf), hexForm(bytes)]),
  ];
}
