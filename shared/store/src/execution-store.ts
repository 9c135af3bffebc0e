// The store of executions every mode has: the record of each accepted execution from submission to the end of
// its retention, its idempotency key, what a late watcher replays, and the listing by tenant. The embedded mode
// implements it on SQLite (sqlite/); the JetStream mode keeps the same records in its KV bucket and streams.
// Methods are asynchronous so a networked implementation fits, but a write takes effect when it is called:
// writes apply in call order, and a read called after a write sees it (an implementation with a round trip
// answers from what it is still writing). It must never show one tenant's execution to another, and never
// forget an execution that is not finished.

import type {
  Execution,
  ExecutionEvent,
  ExecutionRequest,
  Language,
  Outcome,
  Status,
} from '@airlock/protocol';
import type { PageQuery } from './page-query.ts';

export interface NewExecution {
  /** The execution as accepted: `queued`, or `running` for a session cell that starts at once. */
  execution: Execution;
  /** A stable hash of the request body, to tell an Idempotency-Key replay from a conflicting reuse. */
  requestHash: string;
  idempotencyKey?: string;
  /**
   * Kept until the execution finishes, only for a request that asked to be run again after a restart
   * (`retry_on_worker_loss`). Never given for others: the store holds no code it does not need.
   */
  request?: ExecutionRequest;
}

/** The execution holding an idempotency key, with the hash of the body it was submitted with. */
export interface KeyHolder {
  execution: Execution;
  requestHash: string;
}

export type CreateOutcome = { created: true } | { created: false; holder: KeyHolder };

/** An execution the store holds as queued or running: after a crash, one that never ended. */
export interface UnfinishedExecution {
  execution: Execution;
  requestHash: string;
  idempotencyKey: string | undefined;
  request: ExecutionRequest | undefined;
  /** How many times it was started. */
  runs: number;
}

/** Filters of an execution listing, on top of the filters and page of every listing. */
export interface ListQuery extends PageQuery {
  status?: Status;
  outcome?: Outcome;
  language?: Language;
}

/** Newest first (created_at, then id, both descending); `nextCursor` is null on the last page. */
export interface ExecutionPage {
  executions: Execution[];
  nextCursor: string | null;
}

export interface StoreStats {
  /** Executions stored, unfinished ones included. */
  executions: number;
  sessions: number;
  /** Bytes counted against the byte bound (records, replays, kept requests and their share of blobs). */
  bytes: number;
}

export interface SweepReport {
  executions: number;
  sessions: number;
}

export interface ExecutionStore {
  /** Stores a new execution and claims its idempotency key; when the key is taken, answers its holder. */
  create(entry: NewExecution): Promise<CreateOutcome>;
  /** Records a transition of an unfinished execution (queued again, running); `runs` counts starts. */
  update(execution: Execution, changes?: { runs?: number }): Promise<void>;
  /**
   * The terminal write: the finished execution and the events a late watcher replays (states and output in
   * the order they happened; the result event is rebuilt from the execution). Drops the kept request.
   * A second finish of the same execution changes nothing.
   */
  finish(execution: Execution, events: readonly ExecutionEvent[]): Promise<void>;
  /** Forgets an execution at once (a submission undone before anyone saw it). */
  remove(tenant: string, id: string): Promise<void>;
  /** The execution if it is stored, belongs to the tenant and is within retention. */
  get(tenant: string, id: string): Promise<Execution | undefined>;
  /** The execution holding the tenant's key, within retention. */
  findByKey(tenant: string, key: string): Promise<KeyHolder | undefined>;
  /** A finished execution's replay, ending with its result event; undefined when unknown or unfinished. */
  events(tenant: string, id: string): Promise<ExecutionEvent[] | undefined>;
  list(tenant: string, query: ListQuery): Promise<ExecutionPage>;
  /** Every execution stored as queued or running, oldest first (crash recovery). */
  unfinished(): Promise<UnfinishedExecution[]>;
  /** Forgets finished executions past the age, byte and count bounds now (it also happens on its own). */
  sweep(): Promise<SweepReport>;
  /** This instance's counters; no I/O. */
  stats(): StoreStats;
}
