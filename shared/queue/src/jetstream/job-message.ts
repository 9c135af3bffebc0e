// The job message on `airlock.jobs.<tenant>`: which execution to run, for whom, and the request to run. The
// execution itself lives in the KV record; the message only carries what the record must not keep (code).
// Must never accept a message that does not validate, and never trust it over the record.

import { createHash } from 'node:crypto';
import { ExecutionRequest } from '@airlock/protocol';

export interface JobMessage {
  id: string;
  tenant: string;
  request: ExecutionRequest;
}

export type ParsedJobMessage = { ok: true; job: JobMessage } | { ok: false; reason: string };

export function encodeJobMessage(job: JobMessage): string {
  return JSON.stringify(job);
}

/** A digest of the encoded message, kept in the record so a worker runs only the message that was accepted. */
export function jobDigest(message: string | Uint8Array): string {
  return createHash('sha256').update(message).digest('base64url');
}

export function parseJobMessage(data: Uint8Array): ParsedJobMessage {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: 'job message is not JSON' };
  }
  if (typeof json !== 'object' || json === null) {
    return { ok: false, reason: 'job message is not an object' };
  }
  const { id, tenant, request } = json as Record<string, unknown>;
  if (typeof id !== 'string' || typeof tenant !== 'string') {
    return { ok: false, reason: 'job message lacks its id or tenant' };
  }
  const parsed = ExecutionRequest.safeParse(request);
  if (!parsed.success) return { ok: false, reason: 'job message carries an invalid request' };
  return { ok: true, job: { id, tenant, request: parsed.data } };
}
