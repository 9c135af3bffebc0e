// Secrets every queue instance on one NATS shares: 32 random bytes under a name in the `<bucket>-meta` KV
// bucket (no expiry), made by whichever instance comes first; the others read it. The cursor key (listing
// cursors) and the claim-ticket key (claim-tickets.ts) are two of them.
// Must never answer a key other than the one stored, and never replace a stored one.

import { randomBytes } from 'node:crypto';
import { StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/** The key stored under `name` in the queue bucket's meta bucket, made now if there is none yet. */
export async function sharedKey(nc: NatsConnection, bucket: string, name: string): Promise<Buffer> {
  const kv = await new Kvm(nc).create(`${bucket}-meta`, { history: 1, storage: StorageType.File });
  const found = await kv.get(name);
  if (found?.operation === 'PUT') return Buffer.from(found.value);
  try {
    await kv.create(name, randomBytes(32));
  } catch {
    // Another instance made it first: read theirs.
  }
  const made = await kv.get(name);
  if (made?.operation !== 'PUT') throw new Error(`the shared ${name} could not be read back`);
  return Buffer.from(made.value);
}
