// Explains a break in the hash chain: given a record that hashes correctly but does not follow the last good
// one, decides which record is the first bad one and which kind of tampering the evidence shows.
// Must never claim more than the lines show: where two explanations fit, the message names both.

import { type ChainLink, short } from './check-line.ts';
import { GENESIS_HASH } from './record.ts';

/** A record that passed checkLine, with its 1-based line number. */
export type Link = ChainLink & { line: number };

/** The first bad record and what is wrong with it. */
export interface ChainBreak {
  link: Link;
  problem: string;
}

interface Context {
  /** The last record that fitted the chain, or null at the start of the log. */
  last: Link | null;
  /** The record that does not fit. */
  current: Link;
  /** The record after `current`, or null if there is none or it is itself bad. */
  next: Link | null;
  expectedSeq: number;
  expectedPrev: string;
  /** Where the chain stood, for messages. */
  after: string;
}

export function explainBreak(last: Link | null, current: Link, next: Link | null): ChainBreak {
  const context: Context = {
    last,
    current,
    next,
    expectedSeq: (last?.seq ?? 0) + 1,
    expectedPrev: last?.hash ?? GENESIS_HASH,
    after: last === null ? 'the start of the log' : `line ${last.line} (seq ${last.seq})`,
  };
  if (current.seq === context.expectedSeq) return brokenLink(context);
  if (current.seq > context.expectedSeq) return seqJump(context);
  return seqBackwards(context);
}

/** The seq is the expected one, but prev_hash is not the hash of the record before. */
function brokenLink({ last, current, next, expectedPrev, after }: Context): ChainBreak {
  if (last === null) {
    return {
      link: current,
      problem: `first record's prev_hash is ${short(current.prev_hash)}, not the genesis hash (64 zeros): it was forged or records before it were removed`,
    };
  }
  if (next !== null && next.seq === current.seq + 1 && next.prev_hash === current.hash) {
    return {
      link: last,
      problem: `record content was edited and its hash recomputed: line ${current.line} (seq ${current.seq}) chains to prev_hash ${short(current.prev_hash)}, but this record now hashes to ${short(last.hash)}`,
    };
  }
  if (next !== null && next.seq === current.seq && next.prev_hash === expectedPrev) {
    return {
      link: current,
      problem: `record inserted: it does not chain from ${after}, while line ${next.line} (also seq ${next.seq}) does`,
    };
  }
  if (next === null) {
    // Nothing after `current` vouches for either side; `last` is the first record the chain cannot vouch for.
    return {
      link: last,
      problem: `this record hashes to ${short(last.hash)}, but line ${current.line} (seq ${current.seq}, the last line) chains to prev_hash ${short(current.prev_hash)}: this record was edited and its hash recomputed, or line ${current.line} was altered`,
    };
  }
  return {
    link: current,
    problem: `record replaced: its prev_hash ${short(current.prev_hash)} does not match the hash of ${after}, ${short(expectedPrev)}, and line ${next.line} does not chain from it either`,
  };
}

/** The seq is higher than expected: records removed, a record inserted, or records out of order. */
function seqJump({ current, next, expectedSeq, expectedPrev, after }: Context): ChainBreak {
  if (next !== null && next.seq === expectedSeq && next.prev_hash === expectedPrev) {
    if (current.prev_hash === next.hash) {
      return {
        link: current,
        problem: `records reordered: seq ${current.seq} comes before seq ${next.seq} (line ${next.line})`,
      };
    }
    return {
      link: current,
      problem: `record inserted: seq ${current.seq} does not belong here; line ${next.line} (seq ${next.seq}) continues the chain from ${after}`,
    };
  }
  const missing =
    current.seq - expectedSeq === 1 ? `seq ${expectedSeq} is` : `seqs ${expectedSeq}..${current.seq - 1} are`;
  return {
    link: current,
    problem: `record(s) removed: expected seq ${expectedSeq} after ${after}, found seq ${current.seq}; ${missing} missing here (removed, or moved later in the file)`,
  };
}

/** The seq repeats or goes back: a record inserted (copied or forged) or records out of order. */
function seqBackwards({ last, current, next, expectedSeq, after }: Context): ChainBreak {
  if (last !== null && current.hash === last.hash) {
    return {
      link: current,
      problem: `record inserted: this line duplicates line ${last.line} (same seq ${last.seq} and hash)`,
    };
  }
  if (last !== null && current.seq === last.seq && current.prev_hash === last.prev_hash) {
    // Two versions of one record chain from the same predecessor; the genuine one is the one the chain continues from.
    if (next !== null && next.prev_hash === last.hash) {
      return {
        link: current,
        problem: `record inserted: seq ${current.seq} appears again (first on line ${last.line}) and the chain continues from line ${last.line}`,
      };
    }
    if (next !== null && next.prev_hash === current.hash) {
      return {
        link: last,
        problem: `record inserted: seq ${last.seq} appears again on line ${current.line}, and the chain continues from that line, not this one`,
      };
    }
    return {
      link: current,
      problem: `seq ${current.seq} appears twice (lines ${last.line} and ${current.line}), both chaining from the same record: one of them was inserted`,
    };
  }
  return {
    link: current,
    problem: `seq goes backwards: seq ${current.seq} after ${after} (expected ${expectedSeq}): records were reordered or a record was inserted`,
  };
}
