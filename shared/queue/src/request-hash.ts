// A stable hash of a request body, so an Idempotency-Key replay can be told from a conflicting reuse:
// sha256 in hex of the request's canonical JSON (@airlock/protocol, the same form the audit chain hashes).
// Must never depend on key order, and never hash a value JSON cannot carry faithfully (NaN, cycles, BigInt):
// canonicalJson refuses it.

import { createHash } from 'node:crypto';
import { canonicalJson } from '@airlock/protocol';

export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
