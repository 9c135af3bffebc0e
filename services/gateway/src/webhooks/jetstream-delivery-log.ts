// NATS mode's delivery log: every attempt is a message in one JetStream stream (file storage), on a subject per
// tenant and subject (`airlock.webhooks.attempts.<tenant hash>.<subject>`), so whichever gateway made an attempt,
// every gateway answers `GET /v1/executions/:id/deliveries` the same. Bounded like the embedded log: the latest
// attempts per subject, a total size, and an age (the lifecycle events' retention). A read makes a short-lived
// consumer filtered to the one subject. Must never show one tenant another's attempts.

import { createHash } from 'node:crypto';
import type { Logger } from '@airlock/logging';
import { DeliveryAttempt } from '@airlock/protocol';
import { readSubject } from '@airlock/queue';
import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { DeliveryLog } from './delivery-log.ts';

export const DELIVERY_LOG_STREAM = 'AIRLOCK_WEBHOOK_ATTEMPTS';
const SUBJECTS = 'airlock.webhooks.attempts';
const NS_PER_MS = 1_000_000;
const PUBLISH_TIMEOUT_MS = 5_000;
/** Attempts kept per subject (the latest), as in embedded mode. */
const ATTEMPTS_PER_SUBJECT = 200;
const MAX_BYTES = 256 * 1024 * 1024;

const Logged = z.object({ tenant: z.string(), attempt: DeliveryAttempt });

export interface JetStreamDeliveryLogOptions {
  nc: NatsConnection;
  /** Attempts are kept this long. */
  retentionMs: number;
  logger: Logger;
}

export class JetStreamDeliveryLog implements DeliveryLog {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #logger: Logger;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, logger: Logger) {
    this.#js = js;
    this.#jsm = jsm;
    this.#logger = logger;
  }

  /** Creates the stream if missing (idempotent). */
  static async open(options: JetStreamDeliveryLogOptions): Promise<JetStreamDeliveryLog> {
    const jsm = await jetstreamManager(options.nc);
    const config = {
      name: DELIVERY_LOG_STREAM,
      subjects: [`${SUBJECTS}.*.*`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: ATTEMPTS_PER_SUBJECT,
      max_bytes: MAX_BYTES,
      max_age: options.retentionMs * NS_PER_MS,
    };
    try {
      await jsm.streams.add(config);
    } catch {
      await jsm.streams.update(DELIVERY_LOG_STREAM, config);
    }
    return new JetStreamDeliveryLog(jetstream(options.nc), jsm, options.logger);
  }

  async record(tenant: string, subject: string, attempt: DeliveryAttempt): Promise<void> {
    if (!SUBJECT_ID.test(subject)) return;
    try {
      await this.#js.publish(subjectOf(tenant, subject), JSON.stringify({ tenant, attempt }), {
        timeout: PUBLISH_TIMEOUT_MS,
      });
    } catch (err) {
      this.#logger.warn({ err, subject, webhook_id: attempt.webhook_id }, 'delivery attempt not logged');
    }
  }

  async attempts(tenant: string, subject: string): Promise<DeliveryAttempt[]> {
    if (!SUBJECT_ID.test(subject)) return [];
    const subjectName = subjectOf(tenant, subject);
    const read = await readSubject(
      this.#js,
      this.#jsm,
      DELIVERY_LOG_STREAM,
      subjectName,
      ATTEMPTS_PER_SUBJECT,
    );
    const attempts: DeliveryAttempt[] = [];
    for (const message of read) {
      const parsed = Logged.safeParse(message.json());
      if (parsed.success && parsed.data.tenant === tenant) attempts.push(parsed.data.attempt);
    }
    return attempts;
  }
}

/** Execution and session ids: letters, digits, - and _ (one subject token). */
const SUBJECT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The tenant is hashed (it may hold any character); the subject id is one token. */
function subjectOf(tenant: string, subject: string): string {
  const hash = createHash('sha256').update(tenant).digest('hex').slice(0, 32);
  return `${SUBJECTS}.${hash}.${subject}`;
}
