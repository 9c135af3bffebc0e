// Reads the audit log once at start-up and answers what it shows accepted and never finished: executions
// (session cells included) and sessions, with what their `accepted` record says about them. Reads only, one
// line at a time; the chain itself is the verifier's business (a line that is not a record is skipped).
// Must never write to the log, and never hold more than the open items in memory.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** An execution or session the audit log shows accepted and not finished. */
export interface OpenInAudit {
  id: string;
  kind: 'execution' | 'session';
  tenant: string;
  language: unknown;
  backend: unknown;
  limits: unknown;
  metadata: unknown;
  /** Time of the `accepted` record. */
  acceptedAt: string;
  /** Time of its `started` record, if any. */
  startedAt: string | null;
  /** The session of a cell. */
  sessionId: string | undefined;
  /** A session's expiry as accepted. */
  expiresAt: unknown;
}

export interface AuditScan {
  open: Map<string, OpenInAudit>;
  /** Of the ids asked about: those with an `accepted` record, and those with a `finished` one. */
  accepted: Set<string>;
  finished: Set<string>;
  /** Lines that were not a JSON record. */
  skipped: number;
}

/** `about`: ids (the store's unfinished ones) whose accepted and finished records are reported either way. */
export async function scanAuditLog(path: string, about: ReadonlySet<string> = new Set()): Promise<AuditScan> {
  const open = new Map<string, OpenInAudit>();
  const accepted = new Set<string>();
  const finished = new Set<string>();
  let skipped = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.length === 0) continue;
      const record = parse(line);
      if (!record) {
        skipped += 1;
        continue;
      }
      const id = record.execution_id;
      if (typeof id !== 'string') continue;
      if (about.has(id) && record.type === 'accepted') accepted.add(id);
      if (about.has(id) && record.type === 'finished') finished.add(id);
      if (record.type === 'accepted') open.set(id, openItem(id, record));
      else if (record.type === 'finished') open.delete(id);
      else if (record.type === 'started') {
        const item = open.get(id);
        if (item && typeof record.time === 'string') item.startedAt = record.time;
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    lines.close();
  }
  return { open, accepted, finished, skipped };
}

function openItem(id: string, record: Record<string, unknown>): OpenInAudit {
  const detail = isObject(record.detail) ? record.detail : {};
  return {
    id,
    kind: detail.kind === 'session' ? 'session' : 'execution',
    tenant: typeof record.tenant === 'string' ? record.tenant : '',
    language: record.language,
    backend: record.backend,
    limits: record.limits,
    metadata: record.metadata ?? {},
    acceptedAt: typeof record.time === 'string' ? record.time : new Date(0).toISOString(),
    startedAt: null,
    sessionId: typeof detail.session_id === 'string' ? detail.session_id : undefined,
    expiresAt: detail.expires_at,
  };
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
