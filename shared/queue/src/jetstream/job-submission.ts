// Accepting an execution into the JetStream queue: the KV record first (its listing entry written alongside),
// then the client key's claim (a KV create, so two gateways racing on one key cannot both win), then the
// caller's admit() (its reservations and its `accepted` audit record; without a key, while the record is
// written), then the `queued` event, then the job message on the tenant's subject, or the tenant's subject of
// the template the job needs (job-routes.ts), with Nats-Msg-Id = execution id, so a publish retried after a
// timeout is stored once, and the claim ticket for the record at the revision its create answered
// (claim-tickets.ts: the worker claims it without reading the record first). While admit() and the publish run,
// the key's claim says `admitting`, and a replay with the key waits for the outcome. A refused admit() or a
// full stream undoes the claim and the record; a full stream answers `queue_full`.
// Must never leave a claimed key pointing at no record, never publish a job before admit() resolved, and never
// accept a job the stream did not store.

import { AirlockError, type Execution } from '@airlock/protocol';
import { JetStreamApiError, type JetStreamClient, type JetStreamPublishOptions } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { SubmitInput, SubmitOutcome } from '../job-queue.ts';
import { type ClaimTickets, TICKET_HEADER } from './claim-tickets.ts';
import type { EventPublisher } from './event-publisher.ts';
import type { ExecutionRecords, IdempotencyRecord, StoredExecution } from './execution-records.ts';
import { encodeJobMessage, jobDigest } from './job-message.ts';
import { idempotencyKey, isStorableId, type QueueNames } from './names.ts';
import type { TenantConsumers } from './topology.ts';

export interface SubmissionDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  names: QueueNames;
  records: ExecutionRecords;
  events: EventPublisher;
  consumers: TenantConsumers;
  /** Seals the record's claim ticket into the job message (claim-tickets.ts). */
  tickets: ClaimTickets;
  retryAfterSeconds: number;
  onError: (error: unknown, during: string) => void;
}

/** JetStream API errors of a stream that is full (messages, bytes, or storage). */
const STREAM_FULL = new Set([10077, 10047, 10028]);
const PUBLISH_TIMEOUT_MS = 5_000;
const KEY_ATTEMPTS = 5;
/** How long a replay waits for a submit with its key to be accepted or refused before answering as it stands. */
const ADMIT_WAIT_MS = 10_000;
/** Room left in a message for its headers. */
const PAYLOAD_MARGIN_BYTES = 1_024;

export async function submitJob(deps: SubmissionDeps, input: SubmitInput): Promise<SubmitOutcome> {
  const { records } = deps;
  const tenant = input.execution.tenant;
  const key = input.idempotencyKey === undefined ? undefined : idempotencyKey(tenant, input.idempotencyKey);
  if (key !== undefined) {
    const replay = await findReplay(deps, tenant, key, input.requestHash);
    if (replay) return { execution: replay, created: false };
  }
  if (!isStorableId(input.execution.id)) {
    throw new AirlockError('internal_error', 'An execution id must be letters, digits, - and _.');
  }
  const payload = encodeJobMessage({ id: input.execution.id, tenant, request: input.request });
  const maxPayload = deps.nc.info?.max_payload;
  if (maxPayload !== undefined && Buffer.byteLength(payload, 'utf8') > maxPayload - PAYLOAD_MARGIN_BYTES) {
    const limit = maxPayload - PAYLOAD_MARGIN_BYTES;
    throw new AirlockError(
      'payload_too_large',
      `The request is larger than the queue's ${limit} byte limit.`,
    );
  }
  deps.names.jobs(tenant, input.template); // a name no subject can carry is refused before anything is written
  const record: StoredExecution = {
    execution: queuedCopy(input.execution),
    requestHash: input.requestHash,
    jobDigest: jobDigest(payload),
  };
  if (key !== undefined) record.idempotencyRecord = key;
  // Without a key there is no claim to win first, so admit() runs while the record is written (latency: one
  // round trip fewer in a row); a refusal still undoes the record, and nothing is published before both.
  const admitted = key === undefined ? input.admit?.(structuredClone(record.execution)) : undefined;
  const admittedOrNot = admitted?.then(
    () => undefined,
    () => undefined,
  );
  // The listing entry is written with the record (latency: not one more round trip in a row; a list() that
  // finds it first skips an entry whose record is not there), settled before the job is published or the
  // record undone, and removed again if the record is not ours.
  const listed = records.addListing(record);
  const listedOrNot = listed.then(
    () => undefined,
    () => undefined,
  );
  let created: number | undefined;
  try {
    created = await createRecord(deps, record);
  } catch (error) {
    await Promise.all([admittedOrNot, unlist(deps, record, listedOrNot)]);
    throw error;
  }
  if (created === undefined) {
    await Promise.all([admittedOrNot, unlist(deps, record, listedOrNot)]);
    throw new AirlockError('internal_error', 'An execution with this id was already submitted.');
  }
  if (key !== undefined) {
    let replay: Execution | undefined;
    try {
      replay = await claimKey(deps, tenant, key, record, input.admit !== undefined);
    } catch (error) {
      await listedOrNot;
      throw error;
    }
    if (replay) {
      await listedOrNot;
      await records.remove(record.execution.id);
      return { execution: replay, created: false };
    }
  }
  let stored: number;
  try {
    await Promise.all([
      key === undefined ? admitted : input.admit?.(structuredClone(record.execution)),
      listed,
    ]);
    await deps.consumers.ensure(tenant, input.template);
    // Not awaited (latency): sent before the job message on this connection, so it reaches the event stream
    // before any worker can take the job and publish `running`.
    deps.events.state(record.execution.id, 'queued');
    deps.events.lifecycle('execution.accepted', record.execution);
    stored = await publishJob(
      deps,
      input.execution,
      payload,
      input.template,
      ticketFor(deps, record, created, payload),
    );
  } catch (error) {
    await Promise.all([listedOrNot, admittedOrNot]);
    await undo(deps, record, key);
    throw error;
  }
  if (key !== undefined && input.admit !== undefined) await settleClaim(deps, key, record);
  try {
    // It names the job's stream sequence: a worker that already holds that job (its parked pull brought it)
    // skips the pull this wake-up would make (job-consumer.ts).
    deps.nc.publish(deps.names.wakeUp(tenant, input.template), String(stored));
  } catch (error) {
    deps.onError(error, 'publishing a wake-up'); // workers also find the job by listing consumers
  }
  return { execution: structuredClone(record.execution), created: true };
}

/** Removes the listing entry of a record that was not created (another one has its id, or none was made). */
async function unlist(deps: SubmissionDeps, record: StoredExecution, listed: Promise<void>): Promise<void> {
  await listed;
  await deps.records.removeListing(record.execution).catch((error: unknown) => {
    deps.onError(error, 'undoing a refused submit');
  });
}

/**
 * Creates the record: its revision, or undefined if one with its id exists. When the answer is lost, makes
 * sure no record is left behind before failing.
 */
async function createRecord(deps: SubmissionDeps, record: StoredExecution): Promise<number | undefined> {
  try {
    return await deps.records.createUnlisted(record);
  } catch (error) {
    await deps.records.remove(record.execution.id).catch((cleanup: unknown) => {
      deps.onError(cleanup, 'undoing a refused submit');
    });
    throw error;
  }
}

/** The execution an earlier submit with this key created, or undefined when the key is free. */
async function findReplay(
  deps: SubmissionDeps,
  tenant: string,
  key: string,
  requestHash: string,
): Promise<Execution | undefined> {
  const admitDeadline = Date.now() + ADMIT_WAIT_MS;
  for (let attempt = 0, missing = 0; missing < KEY_ATTEMPTS; attempt++) {
    const claim = await deps.records.readKey(key);
    if (!claim) return undefined;
    const existing = await deps.records.find(tenant, claim.value.id);
    // Still being accepted (its audit record, its publish): its outcome decides what this submit is.
    const pending = claim.value.admitting === true && existing?.value.execution.status === 'queued';
    if (pending && Date.now() < admitDeadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * (attempt + 1), 200)));
      continue;
    }
    if (claim.value.requestHash !== requestHash) throw new AirlockError('idempotency_conflict');
    if (existing) return structuredClone(existing.value.execution);
    // A claim whose record is gone (a submit being undone): wait for it to go too.
    missing++;
    await new Promise((resolve) => setTimeout(resolve, 20 * missing));
  }
  throw new AirlockError(
    'internal_error',
    'The Idempotency-Key is held by an execution that cannot be read.',
  );
}

/** Claims the key for this record; if another submit holds it, that submit's execution. */
async function claimKey(
  deps: SubmissionDeps,
  tenant: string,
  key: string,
  record: StoredExecution,
  admitting: boolean,
): Promise<Execution | undefined> {
  const claim: IdempotencyRecord = { id: record.execution.id, requestHash: record.requestHash };
  if (admitting) claim.admitting = true;
  for (let attempt = 0; attempt < KEY_ATTEMPTS; attempt++) {
    if ((await deps.records.claimKey(key, claim)) !== undefined) return undefined;
    const replay = await findReplay(deps, tenant, key, record.requestHash);
    if (replay) return replay;
  }
  throw new AirlockError('internal_error', 'The Idempotency-Key could not be claimed.');
}

/** The execution is accepted: its claim stops saying `admitting`, so replays answer it at once. */
async function settleClaim(deps: SubmissionDeps, key: string, record: StoredExecution): Promise<void> {
  const settled: IdempotencyRecord = { id: record.execution.id, requestHash: record.requestHash };
  try {
    for (let attempt = 0; attempt < KEY_ATTEMPTS; attempt++) {
      const claim = await deps.records.readKey(key);
      if (claim?.value.id !== settled.id || claim.value.admitting !== true) return;
      if (await deps.records.replaceKey(key, settled, claim.revision)) return;
    }
  } catch (error) {
    // The job is stored and will run; a replay treats a claim of a started execution as settled.
    deps.onError(error, 'settling an Idempotency-Key claim');
  }
}

/**
 * The claim ticket for the record just created at `revision` (claim-tickets.ts), or undefined without the
 * shared key or when it would not fit in the message with the payload (the worker then reads the record).
 */
function ticketFor(
  deps: SubmissionDeps,
  record: StoredExecution,
  revision: number,
  payload: string,
): string | undefined {
  const ticket = deps.tickets.seal(record.execution.id, revision, JSON.stringify(record));
  const maxPayload = deps.nc.info?.max_payload;
  if (ticket === undefined || maxPayload === undefined) return ticket;
  const bytes = Buffer.byteLength(payload, 'utf8') + ticket.length + TICKET_HEADER.length;
  return bytes <= maxPayload - PAYLOAD_MARGIN_BYTES ? ticket : undefined;
}

async function publishJob(
  deps: SubmissionDeps,
  execution: Execution,
  payload: string,
  template: string | undefined,
  ticket: string | undefined,
): Promise<number> {
  const { id, tenant } = execution;
  const subject = deps.names.jobs(tenant, template);
  const options: Partial<JetStreamPublishOptions> = {
    msgID: id,
    timeout: PUBLISH_TIMEOUT_MS,
    expect: { streamName: deps.names.jobStream },
  };
  if (ticket !== undefined) {
    options.headers = headers();
    options.headers.set(TICKET_HEADER, ticket);
  }
  try {
    return (await deps.js.publish(subject, payload, options)).seq;
  } catch (error) {
    if (error instanceof JetStreamApiError && STREAM_FULL.has(error.code)) {
      throw new AirlockError('queue_full', 'The queue holds as many executions as it may.', {
        retryAfter: deps.retryAfterSeconds,
      });
    }
    if (error instanceof JetStreamApiError) throw error;
    // No answer: the job may be stored. The same Nats-Msg-Id makes the retry store it at most once.
    return (await deps.js.publish(subject, payload, options)).seq;
  }
}

/** Removes what a failed submit wrote: the key's claim first (so it never points at nothing), then the record. */
async function undo(deps: SubmissionDeps, record: StoredExecution, key: string | undefined): Promise<void> {
  const id = record.execution.id;
  try {
    if (key !== undefined) {
      const claim = await deps.records.readKey(key);
      if (claim?.value.id === id) await deps.records.releaseKey(key, claim.revision);
    }
    await deps.records.remove(id);
  } catch (error) {
    deps.onError(error, 'undoing a refused submit');
  }
}

function queuedCopy(execution: Execution): Execution {
  return {
    ...structuredClone(execution),
    status: 'queued',
    started_at: null,
    finished_at: null,
    result: null,
  };
}
