// The listing's hour markers on a real nats-server: a burst of entries of one hour writes its marker once at
// once and once more after the burst (counted through the real client's put(), nothing faked), and that last
// write is no older than the last entry of the burst, so the marker expires no sooner than any of them;
// settle() sends a rewrite that is due at once.

import { StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { ListingMarkers, MARKER_REWRITE_MS } from './listing-markers.ts';

const harness = useQueueHarness('none');

/** The real KV, with the key of every put() recorded. */
async function countedKv(): Promise<{ kv: KV; puts: string[] }> {
  const kv = await new Kvm(await harness().connect()).create(freshNames().bucket!, {
    history: 1,
    storage: StorageType.Memory,
  });
  const puts: string[] = [];
  const put = kv.put.bind(kv);
  kv.put = (key, value, options) => {
    puts.push(key);
    return put(key, value, options);
  };
  return { kv, puts };
}

/** When the marker was last written, by the server's clock. */
async function writtenAt(kv: KV, key: string): Promise<number> {
  return (await kv.get(key))!.created.getTime();
}

describe('listing hour markers', () => {
  it('writes a marker once per burst and once after it, never older than the burst', async () => {
    const { kv, puts } = await countedKv();
    const errors: unknown[] = [];
    const markers = new ListingMarkers(kv, (error) => errors.push(error));
    await markers.touch('ih.t.1');
    // One synchronous burst, well within the second.
    const last: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) last.push(markers.touch('ih.t.1'));
    await Promise.all(last);
    const lastEntry = Date.now();
    expect(puts).toEqual(['ih.t.1']);
    await expect.poll(() => puts.length, { timeout: 3 * MARKER_REWRITE_MS }).toBe(2);
    await expect.poll(async () => (await kv.get('ih.t.1'))?.revision).toBeGreaterThan(1);
    expect(await writtenAt(kv, 'ih.t.1')).toBeGreaterThanOrEqual(lastEntry);
    // Quiet since: the next entry writes at once, and nothing else is due.
    await new Promise((resolve) => setTimeout(resolve, MARKER_REWRITE_MS));
    await markers.touch('ih.t.1');
    expect(puts).toHaveLength(3);
    expect(errors).toEqual([]);
  });

  it('writes each hour of each tenant at once, and settle() sends what is due without waiting', async () => {
    const { kv, puts } = await countedKv();
    const markers = new ListingMarkers(kv, () => {});
    await Promise.all(['ih.a.1', 'ih.a.2', 'ih.b.1'].map((key) => markers.touch(key)));
    expect([...puts].sort()).toEqual(['ih.a.1', 'ih.a.2', 'ih.b.1']);
    await markers.touch('ih.a.1');
    expect(puts).toHaveLength(3);
    await markers.settle();
    expect(puts).toHaveLength(4);
    expect(puts.at(-1)).toBe('ih.a.1');
    await markers.settle(); // nothing due any more
    expect(puts).toHaveLength(4);
  });
});
