// Makes a finished execution's record fit in one NATS message (the server's max_payload): first output files
// go, then stdout and stderr are cut from the end, each cut flagged in `truncated`.
// Must never change the outcome, and never return a record larger than the budget when it can be made to fit.

import type { ExecutionResult } from '@airlock/protocol';
import type { StoredExecution } from './execution-records.ts';

/** The record itself when it fits; otherwise a copy whose result was shrunk until it does. */
export function fitRecord(record: StoredExecution, budgetBytes: number): StoredExecution {
  let size = byteSize(record);
  const result = record.execution.result;
  if (size <= budgetBytes || !result) return record;
  let shrunk: ExecutionResult = { ...result, truncated: { ...result.truncated } };
  const candidate = () => ({ ...record, execution: { ...record.execution, result: shrunk } });
  if (shrunk.files !== undefined) {
    const { files: _dropped, ...rest } = shrunk;
    shrunk = rest;
    size = byteSize(candidate());
  }
  for (let cuts = 0; size > budgetBytes && (shrunk.stdout.length > 0 || shrunk.stderr.length > 0); cuts++) {
    const over = size - budgetBytes;
    const key = shrunk.stdout.length >= shrunk.stderr.length ? 'stdout' : 'stderr';
    const text = shrunk[key];
    // First cut what is over (a character is at least one byte); if escapes or wide characters left it
    // still too large, halve from then on.
    const keep = Math.max(0, cuts === 0 ? text.length - over - 64 : Math.floor(text.length / 2));
    shrunk = { ...shrunk, [key]: wholeCharacters(text.slice(0, keep)) };
    shrunk.truncated[key] = true;
    size = byteSize(candidate());
  }
  return candidate();
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Drops a trailing high surrogate left by a cut. */
function wholeCharacters(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? text.slice(0, -1) : text;
}
