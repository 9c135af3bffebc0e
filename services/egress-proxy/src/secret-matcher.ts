// Finds the forms of `secret-patterns.ts` in latin1 text. A small regular expression of the two characters
// each form can begin with finds candidates natively; each candidate is checked slot by slot (backtracking
// when one character has two spellings that fit). A form cut off by the end of the text is reported as
// such, so a stream knows what it must hold back. Building a matcher is linear in the secrets' length; it
// must never compile an expression that grows with the secret (those take seconds for a long token).

import { type Atom, type Form, foldCase, type Slot } from './secret-patterns.ts';

const NONE = -1;
/** The text ended while the form still fitted. */
const CUT_OFF = -2;

function accepts(atom: Atom, c: number, ignoreCase: boolean): boolean {
  return ignoreCase ? atom.folded.includes(foldCase(c)) : atom.codes.includes(c);
}

/** End of one spelling at `pos`, NONE, or CUT_OFF. */
function matchSpelling(
  text: string,
  pos: number,
  atoms: readonly Atom[],
  from: number,
  ignoreCase: boolean,
): number {
  let at = pos;
  for (let k = from; k < atoms.length; k++) {
    const atom = atoms[k] as Atom;
    if (atom.min === 1 && atom.max === 1) {
      if (at >= text.length) return CUT_OFF;
      if (!accepts(atom, text.charCodeAt(at), ignoreCase)) return NONE;
      at++;
      continue;
    }
    let n = 0;
    while (n < atom.max && at + n < text.length && accepts(atom, text.charCodeAt(at + n), ignoreCase)) n++;
    let cutOff = false;
    for (let m = n; m >= atom.min; m--) {
      const end = matchSpelling(text, at + m, atoms, k + 1, ignoreCase);
      if (end >= 0) return end;
      if (end === CUT_OFF) cutOff = true;
    }
    return cutOff ? CUT_OFF : NONE;
  }
  return at;
}

const escapeChar = (c: number) =>
  /[A-Za-z0-9]/.test(String.fromCharCode(c))
    ? String.fromCharCode(c)
    : `\\x${c.toString(16).padStart(2, '0')}`;
const classSource = (codes: Iterable<number>) => {
  const list = [...new Set(codes)];
  return list.length === 1 ? escapeChar(list[0] as number) : `[${list.map(escapeChar).join('')}]`;
};

/** `[first](?:[second]|$)` for each way a form can begin. */
function beginnings(form: Form): string[] {
  const sources: string[] = [];
  for (const spelling of form[0] ?? []) {
    const [head, ...rest] = spelling;
    if (!head || head.min < 1) throw new Error('a spelling must begin with a required character');
    const second = new Set<number>(head.max > 1 ? head.codes : []);
    let open = true;
    for (const atom of rest) {
      for (const c of atom.codes) second.add(c);
      if (atom.min > 0) {
        open = false;
        break;
      }
    }
    if (open && form.length > 1) {
      for (const next of form[1] as (readonly Atom[])[]) for (const c of next[0]?.codes ?? []) second.add(c);
      open = false;
    }
    sources.push(open ? classSource(head.codes) : `${classSource(head.codes)}(?:${classSource(second)}|$)`);
  }
  return sources;
}

/** The longest spelling of each slot; slots are shared between forms and secrets, so this is remembered. */
const LONGEST = new WeakMap<Slot, number>();
function slotLongest(slot: Slot): number {
  let longest = LONGEST.get(slot);
  if (longest === undefined) {
    longest = Math.max(...slot.map((spelling) => spelling.reduce((n, atom) => n + atom.max, 0)));
    LONGEST.set(slot, longest);
  }
  return longest;
}

export interface Found {
  /** [start, end) of each form found, in order, not overlapping. */
  ranges: Array<[number, number]>;
  /** Where a form begins that the end of the text cut off (text.length if none). */
  cutOffAt: number;
}

export class SecretMatcher {
  readonly #forms: readonly Form[];
  readonly #candidates: RegExp;
  readonly #candidatesIgnoringCase: RegExp;
  readonly #stackPos: Int32Array;
  readonly #stackNext: Int32Array;
  /** The longest text one form can match. */
  readonly longest: number;

  constructor(forms: readonly Form[]) {
    this.#forms = forms;
    const source = [...new Set(this.#forms.flatMap(beginnings))].join('|');
    this.#candidates = new RegExp(source, 'g');
    this.#candidatesIgnoringCase = new RegExp(source, 'gi');
    const slots = Math.max(0, ...forms.map((f) => f.length));
    this.#stackPos = new Int32Array(slots + 1);
    this.#stackNext = new Int32Array(slots + 1);
    this.longest = Math.max(
      0,
      ...forms.map((form) => form.reduce((sum, slot) => sum + slotLongest(slot), 0)),
    );
  }

  /** End of `form` at `pos`, NONE, or CUT_OFF; tries every spelling of each slot before giving up. */
  #matchForm(text: string, pos: number, form: Form, ignoreCase: boolean): number {
    const stackPos = this.#stackPos;
    const stackNext = this.#stackNext;
    let slot = 0;
    let at = pos;
    let next = 0;
    let cutOff = false;
    for (;;) {
      if (slot === form.length) return at;
      const spellings = form[slot] as (readonly Atom[])[];
      let advanced = false;
      for (; next < spellings.length; next++) {
        const end = matchSpelling(text, at, spellings[next] as readonly Atom[], 0, ignoreCase);
        if (end === CUT_OFF) cutOff = true;
        if (end < 0) continue;
        stackPos[slot] = at;
        stackNext[slot] = next + 1;
        slot++;
        at = end;
        next = 0;
        advanced = true;
        break;
      }
      if (advanced) continue;
      if (slot === 0) return cutOff ? CUT_OFF : NONE;
      slot--;
      at = stackPos[slot] as number;
      next = stackNext[slot] as number;
    }
  }

  /**
   * Every form in `text`. With `stream`, a form the end of the text cuts off stops the search there (the caller
   * holds that part back); without, it is not a match.
   */
  find(text: string, options: { ignoreCase?: boolean; stream?: boolean } = {}): Found {
    const ignoreCase = options.ignoreCase === true;
    const candidates = ignoreCase ? this.#candidatesIgnoringCase : this.#candidates;
    const ranges: Found['ranges'] = [];
    candidates.lastIndex = 0;
    for (let hit = candidates.exec(text); hit !== null; hit = candidates.exec(text)) {
      const start = hit.index;
      let end = NONE;
      let cutOff = false;
      for (const form of this.#forms) {
        const found = this.#matchForm(text, start, form, ignoreCase);
        if (found > end) end = found;
        if (found === CUT_OFF) cutOff = true;
      }
      if (end > start) {
        ranges.push([start, end]);
        candidates.lastIndex = end;
      } else if (cutOff && options.stream) {
        return { ranges, cutOffAt: start };
      } else candidates.lastIndex = start + 1;
    }
    return { ranges, cutOffAt: text.length };
  }
}
