// Verifies an audit log file: recomputes every record's hash and walks the chain, naming the first bad record
// and what is wrong with it (edited, removed, inserted, reordered, invalid, truncated).
// Must never load the whole file (it streams, with a look-ahead of one line) and never modify it.
//
// What a hash chain cannot show on its own: records cut off the END of the log, or well-formed records
// appended after the last one. Compare `last_hash` with a value kept elsewhere to catch those.

import { open } from 'node:fs/promises';
import { explainBreak, type Link } from './chain-break.ts';
import { checkLine } from './check-line.ts';
import { LineReader, type RawLine } from './line-reader.ts';
import { GENESIS_HASH } from './record.ts';

export type VerifyReport =
  | { ok: true; records: number; last_hash: string }
  | {
      ok: false;
      /** Records that verified before the first bad one. */
      records_checked: number;
      /** 1-based line number of the first bad record. */
      line: number;
      /** Its seq, where the line carries a readable one. */
      seq: number | null;
      problem: string;
    };

type Failure = Extract<VerifyReport, { ok: false }>;

/** Verifies the file as it is when the call starts; lines appended meanwhile are not read. Rejects on I/O errors. */
export async function verifyAuditLog(path: string): Promise<VerifyReport> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    return await walkChain(new LineReader(file, size));
  } finally {
    await file.close();
  }
}

async function walkChain(reader: LineReader): Promise<VerifyReport> {
  let last: Link | null = null;
  for (let raw = await reader.next(); raw !== null; raw = await reader.next()) {
    const checked = inspect(raw);
    if (!checked.ok) return failure(raw.number, checked.seq, checked.problem);
    const link: Link = { ...checked.link, line: raw.number };
    if (link.seq === (last?.seq ?? 0) + 1 && link.prev_hash === (last?.hash ?? GENESIS_HASH)) {
      last = link;
      continue;
    }
    const bad = explainBreak(last, link, linkOf(await reader.peek(1)));
    return failure(bad.link.line, bad.link.seq, bad.problem);
  }
  return { ok: true, records: last?.seq ?? 0, last_hash: last?.hash ?? GENESIS_HASH };
}

const TRUNCATED = 'truncated last line: it has no trailing newline, so the write of this record was cut off';

function inspect(raw: RawLine): ReturnType<typeof checkLine> {
  if (raw.text === null) return { ok: false, seq: null, problem: raw.terminated ? raw.problem : TRUNCATED };
  const checked = checkLine(raw.text);
  if (raw.terminated) return checked;
  return { ok: false, seq: checked.ok ? checked.link.seq : checked.seq, problem: TRUNCATED };
}

function linkOf(raw: RawLine | null): Link | null {
  if (raw === null) return null;
  const checked = inspect(raw);
  return checked.ok ? { ...checked.link, line: raw.number } : null;
}

function failure(line: number, seq: number | null, problem: string): Failure {
  return { ok: false, records_checked: line - 1, line, seq, problem };
}
