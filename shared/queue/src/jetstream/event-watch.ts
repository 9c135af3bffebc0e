// One watcher of one execution over JetStream: an ordered consumer on `airlock.events.<id>.>` replays what
// the event stream kept and then follows live events, ending after the result. When nothing arrives for a
// while it reads the execution record, so a result event that was never published (a process died between
// the terminal write and the publish) or has aged out still ends the watch.
// Must never leave its consumer or abort handler behind after it ends, and never yield past the result.

import { type Execution, ExecutionEvent } from '@airlock/protocol';
import { type ConsumerMessages, DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { eventsUntilResult, Wake } from '../watch-loop.ts';

export interface EventWatchFeed {
  js: JetStreamClient;
  stream: string;
  /** `airlock.events.<id>.>` */
  subject: string;
  id: string;
  signal: AbortSignal;
  /** Milliseconds of silence after which the record is read. */
  pollMs: number;
  /** Bound on events held for a watcher that reads slowly; the oldest output goes first. */
  maxBacklog: number;
  /** The execution if it has finished, read from its record. */
  readFinished: () => Promise<Execution | undefined>;
  onError: (error: unknown, during: string) => void;
  /** Called once when the watcher ends, however it ends. */
  onEnd: () => void;
}

/** Opens the consumer before it returns, so every event from now on (and what was kept) will be seen. */
export async function watchExecutionEvents(feed: EventWatchFeed): Promise<AsyncIterable<ExecutionEvent>> {
  if (feed.signal.aborted) {
    feed.onEnd();
    return (async function* () {})();
  }
  const consumer = await feed.js.consumers.get(feed.stream, {
    filter_subjects: feed.subject,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const backlog: ExecutionEvent[] = [];
  let ended = false;
  let aborted = false;
  let sawResult = false;
  let heard = false;
  const wake = new Wake();

  const push = (event: ExecutionEvent) => {
    if (sawResult) return;
    heard = true;
    backlog.push(event);
    if (event.type === 'result') {
      sawResult = true;
      stop();
    } else if (backlog.length > feed.maxBacklog) {
      const oldestOutput = backlog.findIndex((e) => e.type === 'output');
      if (oldestOutput >= 0) backlog.splice(oldestOutput, 1);
    }
    wake.wake();
  };
  const poll = setInterval(() => {
    if (heard) {
      heard = false;
      return;
    }
    feed.readFinished().then(
      (execution) => {
        if (execution && !ended) push({ type: 'result', execution });
      },
      (error: unknown) => feed.onError(error, 'reading a watched execution'),
    );
  }, feed.pollMs);
  poll.unref();
  const stop = () => {
    if (ended) return;
    ended = true;
    clearInterval(poll);
    feed.signal.removeEventListener('abort', onAbort);
    void closeConsumer(messages, () => consumer.delete());
    feed.onEnd();
    wake.wake();
  };
  const onAbort = () => {
    aborted = true;
    stop();
  };

  // It may have aborted while the consumer was being created.
  if (feed.signal.aborted) onAbort();
  else feed.signal.addEventListener('abort', onAbort, { once: true });

  void (async () => {
    try {
      for await (const message of messages) {
        const event = parseEvent(message.string(), feed.id);
        if (event) push(event);
        if (ended) break;
      }
    } catch (error) {
      if (!ended) feed.onError(error, 'following execution events');
    }
  })();

  return eventsUntilResult({
    take: () => backlog.shift(),
    ended: () => ended,
    aborted: () => aborted,
    stop,
    wake,
  });
}

function parseEvent(text: string, id: string): ExecutionEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = ExecutionEvent.safeParse(json);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  return event.type === 'result' && event.execution.id !== id ? undefined : event;
}

async function closeConsumer(messages: ConsumerMessages, remove: () => Promise<boolean>): Promise<void> {
  try {
    await messages.close();
  } catch {
    // Already closed with the connection.
  }
  // Ordered consumers expire on their own after a few minutes; deleting frees the server at once.
  await remove().catch(() => {});
}
