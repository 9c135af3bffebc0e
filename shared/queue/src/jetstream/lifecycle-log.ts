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
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { QueueNames } from './names.ts';

const NS_PER_MS = 1_000_000;
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
    const stream = this.#names.lifecycleStream;
    const info = await this.#jsm.consumers.add(stream, {
      filter_subject: this.#names.lifecycleOf(tenant),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: (query.after ?? 0) + 1,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      inactive_threshold: 30_000 * NS_PER_MS,
    });
    const logged: LoggedLifecycleEvent[] = [];
    try {
      // With a type filter, other types are skipped over (up to a bound), so a page is not cut short by them.
      const filtered = query.types !== undefined && query.types.length > 0;
      const wanted = Math.min(filtered ? MAX_SCAN : query.limit, info.num_pending);
      if (wanted === 0) return logged;
      const consumer = await this.#js.consumers.get(stream, info.name);
      const messages = await consumer.fetch({ max_messages: wanted, expires: 5_000 });
      let seen = 0;
      for await (const message of messages) {
        seen += 1;
        const parsed = LifecycleEvent.safeParse(message.json());
        if (parsed.success && parsed.data.tenant === tenant) {
          if (!query.types || query.types.length === 0 || query.types.includes(parsed.data.type)) {
            logged.push({ seq: message.seq, event: parsed.data });
          }
        }
        if (seen >= wanted || logged.length >= query.limit) break;
      }
      return logged;
    } finally {
      await this.#jsm.consumers.delete(stream, info.name).catch(() => {});
    }
  }
}
