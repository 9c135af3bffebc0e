// A delivery of a job whose execution record already says `running` under this same message: its runner stopped
// heartbeating, or the server lost its ack state (say after a restart). Asks the recorded runner first; if it
// still runs the job the message is released for later, if its claim landed unseen and it never ran it the job
// goes back to queued; otherwise the run is lost: `internal_error` / `worker lost` (code execution is not
// idempotent: never run twice), unless the request opted in with `retry_on_worker_loss`, when it goes back to
// queued to run again (up to MAX_RUNS). Must never run anything itself, nor end a record another message runs.

import type { Execution } from '@airlock/protocol';
import { emptyResult } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ExecutionFinisher } from './execution-finisher.ts';
import type { ExecutionRecords, Revisioned, StoredExecution } from './execution-records.ts';
import { ack, type JobDelivery, releaseLater } from './job-delivery.ts';
import type { JobMessage } from './job-message.ts';
import type { QueueNames } from './names.ts';

/** Runs of one execution at most when it opted in to a retry after a lost worker. */
export const MAX_RUNS = 3;

/** What a runner answers a probe: it runs the job, never started it (claim outcome unknown), or neither. */
export type RunnerAnswer = 'running' | 'not started' | 'not running';

export interface LostRunDeps {
  nc: NatsConnection;
  names: QueueNames;
  records: ExecutionRecords;
  finisher: ExecutionFinisher;
  ackWaitMs: number;
  now: () => Date;
}

/**
 * Settles a delivery whose record is `running` with this message's sequence. `again`: the record went back to
 * queued and the caller should read it again and claim it; `done`: the delivery is dealt with.
 */
export async function settleRunningDelivery(
  deps: LostRunDeps,
  message: JobMessage,
  delivery: JobDelivery,
  found: Revisioned<StoredExecution>,
  stopping: boolean,
): Promise<'again' | 'done'> {
  const { nc, finisher, now } = deps;
  const record = found.value;
  const answer =
    record.runner === undefined ? 'not running' : await askRunner(deps, record.runner, message.id);
  if (answer === 'running') {
    releaseLater(nc, delivery, deps.ackWaitMs); // alive and running it: not lost
    return 'done';
  }
  if (answer === 'not started') {
    // Its claim landed unseen and it never ran the job: back to queued and run here, not a lost run.
    await requeue(deps.records, found, record.lostRuns ?? 0);
    return 'again';
  }
  const lostRuns = (record.lostRuns ?? 0) + 1;
  const retry = message.request.retry_on_worker_loss === true && record.cancelReason === undefined;
  if (retry && lostRuns < MAX_RUNS && !stopping) {
    if (await requeue(deps.records, found, lostRuns)) {
      finisher.notifyRunner(message.id); // the old runner, if alive but cut off, stops
    }
    return 'again'; // claim it here, from queued
  }
  const reason = lostRuns > 1 ? `worker lost (${lostRuns} runs)` : 'worker lost';
  await finisher.finish(message.id, (current) =>
    current.execution.status === 'running' && current.jobSeq === delivery.streamSeq
      ? emptyResult('internal_error', reason, wallMsSince(current.execution, now()))
      : undefined,
  );
  finisher.notifyRunner(message.id); // in case the old runner is alive but cut off
  ack(nc, delivery);
  return 'done';
}

/** Asks the runner recorded for an execution about it; 'not running' when nobody answers. */
async function askRunner(deps: LostRunDeps, runner: string, id: string): Promise<RunnerAnswer> {
  try {
    const answer = await deps.nc.request(deps.names.runnerProbe(runner), id, {
      timeout: Math.max(1_000, Math.min(5_000, Math.floor(deps.ackWaitMs / 2))),
    });
    const text = answer.string();
    return text === 'running' || text === 'not started' ? text : 'not running';
  } catch {
    return 'not running'; // no responders, or no answer in time: that runner is gone or cut off
  }
}

/** Back to queued (compare-and-set), counting the lost runs. */
async function requeue(
  records: ExecutionRecords,
  found: Revisioned<StoredExecution>,
  lostRuns: number,
): Promise<boolean> {
  const { runner: _runner, jobSeq: _jobSeq, cancelReason: _cancel, ...rest } = found.value;
  const requeued: StoredExecution = {
    ...rest,
    execution: { ...found.value.execution, status: 'queued', started_at: null },
    lostRuns,
  };
  return records.replace(requeued, found.revision);
}

function wallMsSince(execution: Execution, now: Date): number {
  return execution.started_at === null ? 0 : Math.max(0, now.getTime() - Date.parse(execution.started_at));
}
