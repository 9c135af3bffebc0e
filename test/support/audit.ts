// Reading a service's audit log from a test while the service may still be appending to it.

import { readFile } from 'node:fs/promises';

/** The records written so far: a line still being appended (an execution finishing meanwhile) is left out. */
export async function readAuditRecords(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
