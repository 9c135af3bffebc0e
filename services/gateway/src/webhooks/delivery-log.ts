// The delivery log: every attempt to deliver a webhook about an execution or session (attempt number, HTTP
// status, latency, error), per subject and per tenant. This one is the embedded mode's, in memory, bounded in
// subjects and in attempts per subject (the oldest subject is forgotten first); NATS mode keeps it in a stream
// every gateway reads (jetstream-delivery-log.ts). Must never show one tenant another's attempts, nor hold a
// secret, a signature or a response body.
import type { DeliveryAttempt } from '@airlock/protocol';

export type { DeliveryAttempt };

export interface DeliveryLogBounds {
  /** Subjects whose attempts are kept. @default 10000 */
  subjects?: number;
  /** Attempts kept per subject (the latest). @default 200 */
  attemptsPerSubject?: number;
}

export interface DeliveryLog {
  /** Keeps one attempt; never rejects (a write that failed is reported by the log itself). */
  record(tenant: string, subject: string, attempt: DeliveryAttempt): Promise<void>;
  /** The subject's attempts in the order they were made; [] when there were none (or another tenant's). */
  attempts(tenant: string, subject: string): Promise<DeliveryAttempt[]>;
}

export class MemoryDeliveryLog implements DeliveryLog {
  readonly #subjects: number;
  readonly #perSubject: number;
  /** tenant|subject → attempts, in insertion order of subjects (a Map keeps it). */
  readonly #entries = new Map<string, DeliveryAttempt[]>();

  constructor(bounds: DeliveryLogBounds = {}) {
    this.#subjects = bounds.subjects ?? 10_000;
    this.#perSubject = bounds.attemptsPerSubject ?? 200;
  }

  async record(tenant: string, subject: string, attempt: DeliveryAttempt): Promise<void> {
    const key = `${tenant}|${subject}`;
    let list = this.#entries.get(key);
    if (!list) {
      list = [];
      this.#entries.set(key, list);
      while (this.#entries.size > this.#subjects) {
        const oldest = this.#entries.keys().next().value;
        if (oldest === undefined) break;
        this.#entries.delete(oldest);
      }
    }
    list.push(attempt);
    if (list.length > this.#perSubject) list.splice(0, list.length - this.#perSubject);
  }

  async attempts(tenant: string, subject: string): Promise<DeliveryAttempt[]> {
    return [...(this.#entries.get(`${tenant}|${subject}`) ?? [])];
  }
}
