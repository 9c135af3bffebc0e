// Reads the audit records of one execution from this process's audit log, for the operator console. Reads
// only, one line at a time, and keeps at most MAX_RECORDS; the chain itself is the verifier's business (a
// line that is not a record is skipped). Must never write to the log, and never return another tenant's records.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditRecord } from '@airlock/audit';

/** More records than one execution's life writes (accepted, started, finished, canceled, repaired). */
export const MAX_RECORDS = 100;

/** The records of `executionId` that belong to `tenant`, in log order. A missing log has none. */
export async function executionAuditRecords(
  path: string,
  tenant: string,
  executionId: string,
): Promise<AuditRecord[]> {
  const found: AuditRecord[] = [];
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      // A cheap test first: most lines are about other executions.
      if (!line.includes(executionId)) continue;
      const record = parseRecord(line);
      if (record?.execution_id === executionId && record.tenant === tenant) {
        found.push(record);
        if (found.length >= MAX_RECORDS) break;
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    lines.close();
    stream.destroy();
  }
  return found;
}

/** The reader of the operator route over `path` (none: no records). */
export function fileAuditReader(
  path: string | undefined,
): (tenant: string, executionId: string) => Promise<Record<string, unknown>[]> {
  if (path === undefined) return async () => [];
  return async (tenant, executionId) =>
    (await executionAuditRecords(path, tenant, executionId)) as unknown as Record<string, unknown>[];
}

function parseRecord(line: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}
