// The one terminal transition of an execution, whoever makes it (the runner, a cancel, a worker-lost check,
// a shutdown): a compare-and-set on the KV record from an unfinished state to `finished`. Only the winner
// publishes the result event, refreshes the idempotency key and calls onFinished, so each happens once.
// Must never overwrite a finished record, and never let onFinished break the transition.

import type { Execution, ExecutionResult } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import { finishedExecution } from '../results.ts';
import type { EventPublisher } from './event-publisher.ts';
import type { ExecutionRecords, StoredExecution } from './execution-records.ts';
import type { QueueNames } from './names.ts';
import { fitRecord } from './result-fit.ts';

/** Room left in a message for headers and the result event's envelope. */
const PAYLOAD_MARGIN_BYTES = 4_096;
const MAX_CONFLICTS = 100;

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
  onFinished: ((execution: Execution) => void) | undefined;
  onError: (error: unknown, during: string) => void;
}

export class ExecutionFinisher {
  readonly #deps: FinisherDeps;

  constructor(deps: FinisherDeps) {
    this.#deps = deps;
  }

  /**
   * Finishes the execution with the result decide() gives for its current record; decide() returning
   * undefined leaves it as it is. Retries when another writer got in first. Throws on a lost connection.
   */
  async finish(
    id: string,
    decide: (record: StoredExecution) => ExecutionResult | undefined,
  ): Promise<FinishOutcome> {
    const { records } = this.#deps;
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const found = await records.read(id);
      if (!found) return { execution: undefined, finishedHere: false };
      const current = found.value;
      if (current.execution.status === 'finished')
        return { execution: current.execution, finishedHere: false };
      const result = decide(current);
      if (!result) return { execution: current.execution, finishedHere: false };
      const finished = this.#fit({
        ...current,
        execution: finishedExecution(current.execution, result, this.#deps.now()),
      });
      if (await records.replace(finished, found.revision)) {
        await this.#announce(finished);
        return { execution: finished.execution, finishedHere: true };
      }
    }
    throw new Error(`execution ${id}: gave up after ${MAX_CONFLICTS} conflicting writes`);
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
    const { events, records, onFinished, onError } = this.#deps;
    await events.result(record.execution);
    if (record.idempotencyRecord !== undefined) {
      // The key must stay as long as the finished execution it points to.
      await records.touchKey(record.idempotencyRecord).catch((error: unknown) => {
        onError(error, 'refreshing an idempotency key');
      });
    }
    try {
      onFinished?.(structuredClone(record.execution));
    } catch {
      // Documented: the hook must not throw; the execution is already finished either way.
    }
  }
}
