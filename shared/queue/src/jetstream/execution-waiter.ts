// Waits, bounded, for an execution to finish: listens for its result event and, in case that notice is
// missed (a reconnect, a publisher that died after its terminal write), reads the record every poll interval.
// Must never wait past its deadline, and never leave its subscription or timers behind.

import type { Execution } from '@airlock/protocol';
import type { NatsConnection } from '@nats-io/transport-node';
import { MAX_TIMER_MS } from '../settled-within.ts';
import type { ExecutionRecords } from './execution-records.ts';
import type { QueueNames } from './names.ts';

export interface WaiterDeps {
  nc: NatsConnection;
  names: QueueNames;
  records: ExecutionRecords;
  pollIntervalMs: number;
  onError: (error: unknown, during: string) => void;
}

/** The execution once finished, or as it is when timeoutMs ends; undefined if its record is gone. */
export async function waitForFinish(
  deps: WaiterDeps,
  id: string,
  timeoutMs: number,
): Promise<Execution | undefined> {
  const { nc, names, records, pollIntervalMs, onError } = deps;
  const read = async () => (await records.read(id))?.value.execution;
  const { promise: settled, resolve } = Promise.withResolvers<void>();
  const subscription = nc.subscribe(names.stateEvents(id), {
    callback: (_error, message) => {
      try {
        if ((message.json() as { type?: unknown }).type === 'result') resolve();
      } catch {
        // Not an event; the record will tell.
      }
    },
  });
  const deadline = setTimeout(resolve, Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS));
  const poll = setInterval(() => {
    read().then(
      (execution) => {
        if (!execution || execution.status === 'finished') resolve();
      },
      (error: unknown) => onError(error, 'reading an awaited execution'),
    );
  }, pollIntervalMs);
  try {
    // Subscribed before the first read, so a result published in between is not missed.
    await Promise.race([nc.flush(), settled]);
    const now = await read();
    if (!now || now.status === 'finished') return now;
    await settled;
    return await read();
  } finally {
    clearTimeout(deadline);
    clearInterval(poll);
    subscription.unsubscribe();
  }
}
