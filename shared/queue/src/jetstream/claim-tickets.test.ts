// Claim tickets (claim-tickets.ts): a fresh job is claimed without a read of its record, and a ticket never
// lets anything run that the read path would not: a job canceled before its claim, a message carrying the
// accepted message's ticket with another request, and tickets sealed with another key or at another revision.
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it, vi } from 'vitest';
import { REQUEST, submitInput, successResult, until } from '../../testing/fixtures.ts';
import { freshNames, useQueueHarness } from '../../testing/jetstream-harness.ts';
import { ClaimTickets, TICKET_HEADER } from './claim-tickets.ts';
import { ExecutionRecords, type StoredExecution } from './execution-records.ts';
import type { QueueNameOptions } from './jetstream-options.ts';
import { encodeJobMessage, jobDigest } from './job-message.ts';
import { QueueNames } from './names.ts';

const harness = useQueueHarness('checked');

/** A gateway queue on fresh names that has accepted one job for acme (with its claim ticket). */
async function submittedJob() {
  const options = freshNames();
  const gateway = await harness().open(options);
  const input = submitInput('acme');
  await gateway.submit(input);
  return { options, names: new QueueNames(options), gateway, input };
}

/** A worker queue on its own connection; the code of every job it runs, in order. */
async function recordingWorker(options: QueueNameOptions): Promise<string[]> {
  const worker = await harness().open(options);
  const runs: string[] = [];
  worker.consume(async (job) => {
    runs.push(job.request.code);
    return successResult();
  });
  return runs;
}

describe('claim tickets', () => {
  it('vouch only for the record and revision they were sealed for, under the shared key', async () => {
    const options = freshNames();
    const bucket = new QueueNames(options).bucket;
    const noError = () => expect.unreachable('the key loads');
    const sealer = await ClaimTickets.open(await harness().connect(), bucket, noError);
    const opener = await ClaimTickets.open(await harness().connect(), bucket, noError);
    const input = submitInput('acme');
    const record: StoredExecution = { execution: input.execution, requestHash: 'h', jobDigest: 'd' };
    const ticket = sealer.seal(input.execution.id, 7, JSON.stringify(record))!;
    const carrying = (value: string) => {
      const h = headers();
      h.set(TICKET_HEADER, value);
      return h;
    };
    expect(opener.open(input.execution.id, carrying(ticket))).toEqual({ value: record, revision: 7 });
    const [revision, mac, body] = ticket.split('.') as [string, string, string];
    const otherBody = Buffer.from(JSON.stringify({ ...record, requestHash: 'x' })).toString('base64url');
    for (const forged of [
      `8.${mac}.${body}`,
      `07.${mac}.${body}`,
      `${revision}.${mac.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}.${body}`,
      `${revision}.${mac}.${otherBody}`,
      `${ticket}.more`,
      `${revision}.${mac}`,
      new ClaimTickets(randomBytes(32)).seal(input.execution.id, 7, JSON.stringify(record))!,
    ]) {
      expect(opener.open(input.execution.id, carrying(forged))).toBeUndefined();
    }
    expect(opener.open(submitInput('acme').execution.id, carrying(ticket))).toBeUndefined();
    expect(opener.open(input.execution.id, undefined)).toBeUndefined();
    expect(new ClaimTickets(undefined).seal(input.execution.id, 7, '{}')).toBeUndefined();
    expect(new ClaimTickets(undefined).open(input.execution.id, carrying(ticket))).toBeUndefined();
  });

  it('a fresh job is claimed, run and finished without a read of its record', async () => {
    const { options, input } = await submittedJob();
    const worker = await harness().open(options);
    const message = await (await jetstreamManager(await harness().connect())).streams.getMessage(
      options.jobStream!,
      { last_by_subj: new QueueNames(options).jobs('acme') },
    );
    expect(message?.header.get(TICKET_HEADER)).toMatch(/^\d+\./);
    const reads = vi.spyOn(ExecutionRecords.prototype, 'read');
    try {
      const finished = Promise.withResolvers<string>();
      worker.onFinished((execution) => finished.resolve(execution.result?.stdout ?? ''));
      worker.consume(async () => successResult('ran'));
      expect(await finished.promise).toBe('ran');
      expect(reads.mock.calls.filter(([id]) => id === input.execution.id)).toEqual([]);
    } finally {
      reads.mockRestore();
    }
  });

  it('a job canceled between its submit and its claim is never run', async () => {
    const { options, gateway, input } = await submittedJob();
    await gateway.cancel('acme', input.execution.id);
    const runs = await recordingWorker(options);
    await until(async () => (await gateway.refreshStats()).queued === 0);
    expect(runs).toEqual([]);
    expect(await gateway.get('acme', input.execution.id)).toMatchObject({
      status: 'finished',
      result: { outcome: 'canceled' },
    });
  });

  it('never runs a forged message, whatever ticket it carries', async () => {
    const { options, names, gateway, input } = await submittedJob();
    const raw = await harness().connect();
    const jsm = await jetstreamManager(raw);
    const accepted = await jsm.streams.getMessage(options.jobStream!, { last_by_subj: names.jobs('acme') });
    const acceptedTicket = accepted!.header.get(TICKET_HEADER);
    const revision = Number(acceptedTicket.split('.')[0]);
    await jsm.streams.purge(options.jobStream!, { filter: names.jobs('acme') });
    // Forged payloads, each with a record that matches it: sealed with the cluster's key at a wrong revision,
    // and sealed with another key at the right one; and the accepted ticket itself on another payload.
    const theKey = await ClaimTickets.open(raw, names.bucket, () => expect.unreachable('the key loads'));
    const forgedPayload = (code: string) =>
      encodeJobMessage({ id: input.execution.id, tenant: 'acme', request: { ...REQUEST, code } });
    const forgedTicket = (tickets: ClaimTickets, at: number, payload: string) => {
      const record: StoredExecution = {
        execution: input.execution,
        requestHash: input.requestHash,
        jobDigest: jobDigest(payload),
      };
      return tickets.seal(input.execution.id, at, JSON.stringify(record))!;
    };
    const wrongRevision = forgedPayload('wrongRevision()');
    const wrongKey = forgedPayload('wrongKey()');
    const stolen = forgedPayload('stolenTicket()');
    const js = jetstream(raw);
    for (const [payload, ticket] of [
      [wrongRevision, forgedTicket(theKey, revision + 1_000, wrongRevision)],
      [wrongKey, forgedTicket(new ClaimTickets(randomBytes(32)), revision, wrongKey)],
      [stolen, acceptedTicket],
    ] as const) {
      const h = headers();
      h.set(TICKET_HEADER, ticket);
      await js.publish(names.jobs('acme'), payload, { headers: h });
    }
    const runs = await recordingWorker(options);
    await until(async () => (await gateway.refreshStats()).queued === 0);
    expect(runs).toEqual([]);
    expect((await gateway.get('acme', input.execution.id))?.status).toBe('queued');
    expect(harness().takeErrors()).toEqual(
      Array(3).fill('reading a job message: Error: job message does not match its execution'),
    );
  });
});
