// The audit stream against a real nats-server: each process's records of an execution are read back in the
// order they were copied, with the process that wrote them; a repeat of a record is stored once; another
// tenant, another execution and a record of no execution are never returned.

import { startNatsServer } from '@airlock/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStream } from './audit-stream.ts';

let nats: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: nats.url });
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await nats?.[Symbol.asyncDispose]();
});

const record = (seq: number, type: string, tenant: string, execution_id: string | null) => ({
  seq,
  type,
  tenant,
  execution_id,
  time: new Date(0).toISOString(),
  prev_hash: '0'.repeat(64),
  hash: String(seq).repeat(64).slice(0, 64),
});

describe('AuditStream', () => {
  it("reads one execution's records of one tenant, in copy order, each with its source", async () => {
    const stream = await AuditStream.open({ connection: nc, retentionMs: 60_000, retainedBytes: 1 << 20 });
    await stream.publish('gw_a', record(7, 'accepted', 'acme', 'ex_1'));
    await stream.publish('w_1', record(3, 'started', 'acme', 'ex_1'));
    await stream.publish('w_1', record(3, 'started', 'acme', 'ex_1')); // a repeat: stored once
    await stream.publish('w_1', record(4, 'finished', 'acme', 'ex_1'));
    await stream.publish('w_1', record(5, 'started', 'acme', 'ex_2'));
    await stream.publish('gw_a', record(8, 'accepted', 'other', 'ex_1'));
    await stream.publish('gw_a', record(9, 'rejected', 'acme', null));
    const read = await stream.read('acme', 'ex_1', 100);
    expect(read.map((r) => [r.source, r.record.type, r.record.seq])).toEqual([
      ['gw_a', 'accepted', 7],
      ['w_1', 'started', 3],
      ['w_1', 'finished', 4],
    ]);
    expect(read[0]!.record).toEqual(record(7, 'accepted', 'acme', 'ex_1'));
    expect((await stream.read('other', 'ex_1', 100)).map((r) => r.record.tenant)).toEqual(['other']);
    expect(await stream.read('nobody', 'ex_1', 100)).toEqual([]);
    expect(await stream.read('acme', 'ex_missing', 100)).toEqual([]);
    expect(await stream.read('acme', 'not.a.token', 100)).toEqual([]);
    expect((await stream.read('acme', 'ex_1', 2)).map((r) => r.record.type)).toEqual(['accepted', 'started']);
  });

  it('keeps the limits of the last process that opened it', async () => {
    await AuditStream.open({
      connection: nc,
      stream: 'AUDIT_B',
      subjectPrefix: 'b',
      retentionMs: 60_000,
      retainedBytes: 1 << 20,
    });
    await AuditStream.open({
      connection: nc,
      stream: 'AUDIT_B',
      subjectPrefix: 'b',
      retentionMs: 120_000,
      retainedBytes: 1 << 21,
    });
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
    const { config } = await jsm.streams.info('AUDIT_B');
    expect(config.max_age).toBe(120_000 * 1_000_000);
    expect(config.max_bytes).toBe(1 << 21);
  });
});
