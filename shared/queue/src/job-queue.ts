// The JobQueue interface, implemented in-process (memory-job-queue.ts, p-queue over an ExecutionStore) and over
// NATS JetStream (jetstream/), with the same semantics, which the contract suite (contract/) checks on both:
// bounded, fair across tenants, idempotent on a client key, and every accepted execution reaches exactly one
// terminal state (status `finished` with a result), of which the instance that made it tells its listeners.

import type {
  Execution,
  ExecutionEvent,
  ExecutionRequest,
  ExecutionResult,
  OutputStream,
} from '@airlock/protocol';

export interface SubmitInput {
  /** The execution as accepted: id, tenant, limits and backend already resolved, status `queued`. */
  execution: Execution;
  request: ExecutionRequest;
  /** Client-chosen key; with the same requestHash it returns the first execution, otherwise a 409. */
  idempotencyKey?: string;
  /** A stable hash of the request body, to tell a replay from a conflicting reuse of the key. */
  requestHash: string;
  /**
   * The template the job runs in when it is not a language's default image (the request's `template`, or a
   * compiled language's default template). The JetStream queue hands such a job only to workers that have
   * that template ready; the memory queue has one worker and ignores it.
   */
  template?: string;
  /**
   * Called once for a new execution (never for an Idempotency-Key replay), after the queue has reserved its
   * place (capacity and key checked) and before any worker can start it: the caller's last word on accepting
   * it (take its reservations, make its `accepted` audit record durable). If it throws, the queue forgets the
   * execution as if it had never been submitted (the key is free again, nothing runs, no event is kept) and
   * submit() rethrows. A queue that can still refuse the job after admit() resolved (the JetStream stream is
   * full) forgets it the same way and throws. A submit with the same key while admit() runs waits for its
   * outcome.
   */
  admit?: (execution: Execution) => Promise<void>;
}

export interface SubmitOutcome {
  execution: Execution;
  /** False when an Idempotency-Key replay returned an existing execution. */
  created: boolean;
}

export interface Job {
  execution: Execution;
  request: ExecutionRequest;
}

export interface JobContext {
  /** Aborted when the execution is canceled or the queue closes. */
  signal: AbortSignal;
  /** Publishes an output chunk to watchers. */
  output(stream: OutputStream, data: string): void;
}

/** Runs one job; resolves with its result. Never invoked synchronously from within submit(). */
export type JobWorker = (job: Job, context: JobContext) => Promise<ExecutionResult>;

/** Told of an execution in its terminal state (its own copy). Must not throw; an exception is ignored. */
export type FinishedListener = (execution: Execution) => void;

export interface QueueStats {
  queued: number;
  running: number;
}

export interface JobQueue {
  /** Throws AirlockError `queue_full` (with retryAfter) or `idempotency_conflict`. */
  submit(input: SubmitInput): Promise<SubmitOutcome>;
  /** The execution if it exists and belongs to the tenant. */
  get(tenant: string, id: string): Promise<Execution | undefined>;
  /** Throws `execution_not_found` or `execution_finished`. Resolves with the execution after the cancel. */
  cancel(tenant: string, id: string): Promise<Execution>;
  /** Resolves when the execution finishes or after timeoutMs, with its state at that moment. Throws `execution_not_found`. */
  wait(tenant: string, id: string, timeoutMs: number): Promise<Execution>;
  /** Every event so far, then live ones until the result event. Throws `execution_not_found`. */
  watch(tenant: string, id: string, signal: AbortSignal): Promise<AsyncIterable<ExecutionEvent>>;
  /** Attaches the worker that runs jobs; the in-process queue allows one. */
  consume(worker: JobWorker): void;
  stats(): QueueStats;
  /**
   * Calls the listener once for each execution whose terminal transition this instance makes from now on (a
   * run, a cancel, a shutdown; with JetStream that is only the transitions made here, so across all instances
   * each execution is told once). Returns the unsubscribe.
   */
  onFinished(listener: FinishedListener): () => void;
  /**
   * Stops taking jobs and refuses submits (`shutting_down`), lets the running ones finish for up to timeoutMs,
   * then closes, which cancels what still runs. Queued executions are left to close() (see there).
   */
  drain(timeoutMs: number): Promise<void>;
  /**
   * Stops taking jobs and refuses submits; aborts running ones (finishing them as canceled) and waits for
   * them. Queued executions are finished as canceled by the in-process queue; a JetStream queue leaves them
   * for the other workers.
   */
  close(): Promise<void>;
}
