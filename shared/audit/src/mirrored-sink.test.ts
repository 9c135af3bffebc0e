// The mirrored sink: a record reaches the listener only after the wrapped sink stored it; a refused one never
// does; a listener that throws changes nothing for the caller.

import { describe, expect, it } from 'vitest';
import type { AuditSink } from './audit-sink.ts';
import { mirroredSink } from './mirrored-sink.ts';
import type { AuditEntry, AuditRecord } from './record.ts';

const entry: AuditEntry = { type: 'accepted', execution_id: 'ex_1', tenant: 't' };

function sink(fail: boolean): AuditSink & { closed: boolean } {
  let seq = 0;
  return {
    closed: false,
    async append(e) {
      if (fail) throw new Error('disk full');
      seq += 1;
      return { ...e, seq, time: 'now', prev_hash: 'p', hash: `h${seq}` } as AuditRecord;
    },
    async close() {
      this.closed = true;
    },
  };
}

describe('mirroredSink', () => {
  it('passes on each stored record, and only stored ones', async () => {
    const seen: AuditRecord[] = [];
    const ok = mirroredSink(sink(false), (record) => seen.push(record));
    expect((await ok.append(entry)).hash).toBe('h1');
    expect(seen.map((r) => r.hash)).toEqual(['h1']);
    const failing = mirroredSink(sink(true), (record) => seen.push(record));
    await expect(failing.append(entry)).rejects.toThrow('disk full');
    expect(seen).toHaveLength(1);
  });

  it('answers the record even when the listener throws, and closes the wrapped sink', async () => {
    const inner = sink(false);
    const mirrored = mirroredSink(inner, () => {
      throw new Error('listener');
    });
    expect((await mirrored.append(entry)).seq).toBe(1);
    await mirrored.close();
    expect(inner.closed).toBe(true);
  });
});
