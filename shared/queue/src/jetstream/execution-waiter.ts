// Waits, bounded, for an execution to finish: listens for its result event (through the queue's one
// ResultFeed) and answers with the execution the event carries — the finisher publishes it only after its
// winning compare-and-set, and a finished record never changes, so it is the record without reading it
// again (latency: one round trip fewer). In case that notice is missed (a reconnect, a publisher that died
// after its terminal write), it reads the record every poll interval. It also reads the record at once, for a
// result published before it listened — unless the caller knows none can have been (the execution was
// submitted in this process while its result feed heard everything since: `heardAll`; latency and CPU: one
// read fewer on the REST ?wait path).
// Must never wait past its deadline, never answer with another tenant's execution, and never leave its
// waiter or timers behind.

import type { Execution } from '@airlock/protocol';
import { MAX_TIMER_MS } from '../settled-within.ts';
import type { ExecutionRecords } from './execution-records.ts';
import type { ResultFeed } from './result-feed.ts';

export interface WaiterDeps {
  feed: ResultFeed;
  records: ExecutionRecords;
  pollIntervalMs: number;
  onError: (error: unknown, during: string) => void;
}

/**
 * The execution once finished, or as it is when timeoutMs ends; undefined if its record is gone (or, with
 * `tenant`, belongs to another tenant).
 */
export async function waitForFinish(
  deps: WaiterDeps,
  id: string,
  timeoutMs: number,
  tenant?: string,
  heardAll = false,
): Promise<Execution | undefined> {
  const { feed, records, pollIntervalMs, onError } = deps;
  const mine = (execution: Execution | undefined) =>
    execution !== undefined && (tenant === undefined || execution.tenant === tenant);
  const read = async () => {
    const execution = (await records.read(id))?.value.execution;
    return mine(execution) ? execution : undefined;
  };
  const { promise: settled, resolve } = Promise.withResolvers<Execution | undefined>();
  // Heard before the first read, so a result published in between is not missed.
  const { stop } = await feed.waitFor(id, (execution) => {
    if (mine(execution) && execution.status === 'finished') resolve(execution);
  });
  const deadline = setTimeout(() => resolve(undefined), Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS));
  const poll = setInterval(() => {
    read().then(
      (execution) => {
        if (!execution || execution.status === 'finished') resolve(execution);
      },
      (error: unknown) => onError(error, 'reading an awaited execution'),
    );
  }, pollIntervalMs);
  try {
    if (!heardAll || timeoutMs <= 0) {
      const now = await read();
      if (!now || now.status === 'finished' || timeoutMs <= 0) return now;
    }
    return (await settled) ?? (await read());
  } finally {
    clearTimeout(deadline);
    clearInterval(poll);
    stop();
  }
}
