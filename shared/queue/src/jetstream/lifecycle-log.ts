// The lifecycle event log on JetStream: one stream (`<eventStream>_LIFECYCLE`), subjects
// `airlock.lifecycle.<tenant hash>.<type>`, bounded by age and bytes, so every gateway serves the same feed; the
// stream sequence is the position. Whoever makes a transition publishes its event with the message id
// `<subject>.<type>`, so a repeated publish within the duplicate window is stored once. A read makes a
// short-lived consumer filtered to the tenant. Must never return another tenant's event.

import { type Execution, LifecycleEvent, type LifecycleEventType } from '@airlock/protocol';
import {
  executionData,
  type LifecycleEventLog,
  type LifecycleEventRead,
  type LoggedLifecycleEvent,
  newEventId,
} from '@airlock/store';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { QueueNames } from './names.ts';
import { readStream } from './streams.ts';

const PUBLISH_TIMEOUT_MS = 5_000;
/** Events one filtered read looks through at most. */
const MAX_SCAN = 10_000;

/** The event of an execution's transition, as every surface shows it (never output). */
export function executionLifecycleEvent(type: LifecycleEventType, execution: Execution): LifecycleEvent {
  return {
    id: newEventId(),
    type,
    tenant: execution.tenant,
    at: new Date().toISOString(),
    subject: execution.id,
    data: executionData(execution),
  };
}

export class JetStreamLifecycleLog implements LifecycleEventLog {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #names: QueueNames;

  constructor(js: JetStreamClient, jsm: JetStreamManager, names: QueueNames) {
    this.#js = js;
    this.#jsm = jsm;
    this.#names = names;
  }

  /** The stream's name, for consumers of every event (webhook routing). */
  get stream(): string {
    return this.#names.lifecycleStream;
  }

  async append(event: LifecycleEvent): Promise<number> {
    const ack = await this.#js.publish(
      this.#names.lifecycle(event.tenant, event.type),
      JSON.stringify(event),
      { msgID: `${event.subject}.${event.type}`, timeout: PUBLISH_TIMEOUT_MS },
    );
    return ack.seq;
  }

  async read(tenant: string, query: LifecycleEventRead): Promise<LoggedLifecycleEvent[]> {
    // With a type filter, other types are skipped over (up to a bound), so a page is not cut short by them.
    const filtered = query.types !== undefined && query.types.length > 0;
    const logged: LoggedLifecycleEvent[] = [];
    const read = {
      filter: this.#names.lifecycleOf(tenant),
      after: query.after ?? 0,
      max: filtered ? MAX_SCAN : query.limit,
    };
    await readStream(this.#js, this.#jsm, this.#names.lifecycleStream, read, (message) => {
      const parsed = LifecycleEvent.safeParse(message.json());
      if (parsed.success && parsed.data.tenant === tenant) {
        if (!query.types || query.types.length === 0 || query.types.includes(parsed.data.type)) {
          logged.push({ seq: message.seq, event: parsed.data });
        }
      }
      return logged.length < query.limit;
    });
    return logged;
  }
}
