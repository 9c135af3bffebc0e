// What the in-process queue holds in memory for an execution that is live (queued or running): its state, its
// request, the events so far for watchers, their listeners, its abort controller. A finished execution lives
// only in the ExecutionStore; its record is dropped when the terminal write is made.
// Must never be shared between two executions, nor outlive the execution's terminal write.

import type { Execution, ExecutionRequest } from '@airlock/protocol';
import { EventLog } from './event-log.ts';
import type { EventListener } from './execution-watch.ts';
import type { SubmitInput } from './job-queue.ts';

export interface ExecutionRecord {
  /** The current state; replaced (never mutated in place) on every transition. */
  execution: Execution;
  /** Kept only until the execution finishes. */
  request: ExecutionRequest | undefined;
  idempotencyKey: string | undefined;
  requestHash: string;
  events: EventLog;
  listeners: Set<EventListener>;
  /** Resolves once, when the execution reaches its terminal state. */
  finished: PromiseWithResolvers<void>;
  /** Present while running: aborts the worker's signal. */
  abort: AbortController | undefined;
  /** Set when a cancel or shutdown asked a running execution to stop; its outcome will be `canceled`. */
  cancelReason: string | undefined;
  /** Times it was started (more than one only when it was queued again after a restart). */
  runs: number;
}

/** A fresh record for a submitted execution, in status `queued` whatever the input said. */
export function newExecutionRecord(input: SubmitInput, maxEventBytes: number): ExecutionRecord {
  const execution: Execution = {
    ...structuredClone(input.execution),
    status: 'queued',
    started_at: null,
    finished_at: null,
    result: null,
  };
  return {
    execution,
    request: input.request,
    idempotencyKey: input.idempotencyKey,
    requestHash: input.requestHash,
    events: new EventLog(maxEventBytes),
    listeners: new Set(),
    finished: Promise.withResolvers<void>(),
    abort: undefined,
    cancelReason: undefined,
    runs: 0,
  };
}
