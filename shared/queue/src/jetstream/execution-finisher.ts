// The one terminal transition of an execution, whoever makes it (the runner, a cancel, a worker-lost check,
// a shutdown): a compare-and-set on the KV record from an unfinished state to `finished`. Only the winner
// tells the queue's finished-listeners, publishes the result event and refreshes the idempotency key, so
// each happens once. The listeners are told first, before any further I/O: a waiter woken by the result event
// then never sees an execution whose listeners have not been told in this process yet. A write whose answer
// was lost (a timeout, a reconnect) is recognised afterwards by the record's `finishedBy` token, so its
// listeners are still told exactly once.
// Must never overwrite a finished record, and never let a listener break the transition.

import { randomBytes } from 'node:crypto';
import type { Execution, ExecutionResult } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FinishedListeners } from '../finished-listeners.ts';
import { finishedExecution } from '../results.ts';
import type { EventPublisher } from './event-publisher.ts';
import type { ExecutionRecords, Revisioned, StoredExecution } from './execution-records.ts';
import type { QueueNames } from './names.ts';
import { fitRecord } from './result-fit.ts';

/** Room left in a message for headers and the result event's envelope. */
const PAYLOAD_MARGIN_BYTES = 4_096;
const MAX_CONFLICTS = 100;
/** Re-reads after a write whose answer was lost, before giving the question to the next finish() call. */
const UNCERTAIN_READS = 5;
const UNCERTAIN_READ_PAUSE_MS = 200;

export interface FinishOutcome {
  /** The execution as it is now (finished, unless decide() declined), or undefined if it is gone. */
  execution: Execution | undefined;
  /** True when this call made the terminal transition. */
  finishedHere: boolean;
}

export interface FinisherDeps {
  nc: NatsConnection;
  records: ExecutionRecords;
  events: EventPublisher;
  names: QueueNames;
  now: () => Date;
  finished: FinishedListeners;
  onError: (error: unknown, during: string) => void;
}

export class ExecutionFinisher {
  readonly #deps: FinisherDeps;
  /** Marks the records this finisher wrote, so a write whose answer was lost can be recognised. */
  readonly #token = randomBytes(12).toString('base64url');
  /** Executions with a terminal write of ours whose outcome is not known yet. */
  readonly #uncertain = new Set<string>();

  constructor(deps: FinisherDeps) {
    this.#deps = deps;
  }

  /**
   * Finishes the execution with the result decide() gives for its current record; decide() returning
   * undefined leaves it as it is. Retries when another writer got in first. Throws on a lost connection.
   * `known` is the record as the caller last wrote it, with the revision that write returned: the first
   * compare-and-set goes against it without a read (latency: one round trip fewer on the hot path); if the
   * record has changed since, that write fails on the revision and the loop reads the record as usual.
   */
  async finish(
    id: string,
    decide: (record: StoredExecution) => ExecutionResult | undefined,
    known?: Revisioned<StoredExecution>,
  ): Promise<FinishOutcome> {
    const { records } = this.#deps;
    let hint = known?.value.execution.id === id ? known : undefined;
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const found = hint ?? (await records.read(id));
      hint = undefined;
      if (!found) return { execution: undefined, finishedHere: false };
      const current = found.value;
      if (current.execution.status === 'finished') {
        const ours = this.#uncertain.delete(id) && current.finishedBy === this.#token;
        if (ours) await this.#announce(current);
        return { execution: current.execution, finishedHere: ours };
      }
      const result = decide(current);
      if (!result) return { execution: current.execution, finishedHere: false };
      const finished = this.#fit({
        ...current,
        execution: finishedExecution(current.execution, result, this.#deps.now()),
        finishedBy: this.#token,
      });
      let written: boolean;
      try {
        written = await records.replace(finished, found.revision);
      } catch (error) {
        // The write may have landed with its answer lost: find out, or leave it to the next call.
        this.#uncertain.add(id);
        if (await this.#landed(id)) {
          this.#uncertain.delete(id);
          await this.#announce(finished);
          return { execution: finished.execution, finishedHere: true };
        }
        throw error;
      }
      if (written) {
        await this.#announce(finished);
        return { execution: finished.execution, finishedHere: true };
      }
    }
    throw new Error(`execution ${id}: gave up after ${MAX_CONFLICTS} conflicting writes`);
  }

  /** After an uncertain write: true if the record is finished by us; false if not (yet), or unreadable. */
  async #landed(id: string): Promise<boolean> {
    for (let read = 0; read < UNCERTAIN_READS; read++) {
      try {
        const found = await this.#deps.records.read(id);
        const record = found?.value;
        if (record?.execution.status === 'finished' && record.finishedBy === this.#token) return true;
        if (!record || record.execution.status === 'finished') {
          this.#uncertain.delete(id); // gone, or finished by someone else: ours did not land
          return false;
        }
        return false; // still unfinished: ours did not land; the caller may try again
      } catch {
        await new Promise((resolve) => setTimeout(resolve, UNCERTAIN_READ_PAUSE_MS));
      }
    }
    return false;
  }

  /** Tells the runner of an execution (if any) to look at its record: it was canceled or finished. */
  notifyRunner(id: string): void {
    try {
      this.#deps.nc.publish(this.#deps.names.cancel(id));
    } catch (error) {
      this.#deps.onError(error, 'publishing a cancel notice');
    }
  }

  #fit(record: StoredExecution): StoredExecution {
    const maxPayload = this.#deps.nc.info?.max_payload;
    return maxPayload === undefined ? record : fitRecord(record, maxPayload - PAYLOAD_MARGIN_BYTES);
  }

  async #announce(record: StoredExecution): Promise<void> {
    const { events, records, finished, onError } = this.#deps;
    finished.notify(record.execution);
    // Both sent in this tick, so they leave in one write (CPU: a socket write per job saved); the result first.
    const result = events.result(record.execution);
    events.lifecycle(
      record.execution.result?.outcome === 'canceled' ? 'execution.canceled' : 'execution.finished',
      record.execution,
    );
    await result;
    if (record.idempotencyRecord !== undefined) {
      // The key must stay as long as the finished execution it points to.
      await records.touchKey(record.idempotencyRecord).catch((error: unknown) => {
        onError(error, 'refreshing an idempotency key');
      });
    }
  }
}
