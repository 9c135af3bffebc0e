// Takes one job from one tenant's durable pull consumer: without waiting (`no_wait`), so a worker can go round
// the tenants and ask each in turn, or parked (a request left waiting on the server, so the next job is
// delivered as soon as it is stored, without a wake-up and a pull round trip); and wraps the delivered message:
// its stream sequence, how often it was delivered, its headers, and the acks (done, still working, never again).
// Raw pull requests because the client's next()/fetch() wait at least a second on an empty consumer.
// Must never hold more than the one job it asked for, and never throw from an ack.

import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { settledWithin } from '../settled-within.ts';

export interface JobDelivery {
  /** The tenant consumer it came from. */
  readonly consumer: string;
  readonly data: Uint8Array;
  /** The message's headers (a claim ticket among them, claim-tickets.ts), if it has any. */
  readonly headers: MsgHdrs | undefined;
  /** Stream sequence of the job message: the same on every redelivery. */
  readonly streamSeq: number;
  /** 1 on first delivery, more on redeliveries. */
  readonly deliveryCount: number;
  /** The ack subject; differs between deliveries of one message. */
  readonly replySubject: string;
}

const PULL_TIMEOUT_MS = 5_000;

/** One job from the consumer, or undefined when it has none ready (or no longer exists). */
export async function pullOne(
  nc: NatsConnection,
  stream: string,
  consumer: string,
): Promise<JobDelivery | undefined> {
  const request = JSON.stringify({ batch: 1, no_wait: true });
  // noMux: the job arrives on our inbox under its own subject, which the shared reply mux cannot route.
  const message = await nc.request(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, request, {
    timeout: PULL_TIMEOUT_MS,
    noMux: true,
  });
  // 404 no messages, 408 request timeout (no_wait while others are pending), 409 consumer gone or limits.
  if (message.headers?.hasError || !message.reply) return undefined;
  return toDelivery(consumer, message);
}

/** A pull request left waiting on the server for one job. */
export interface ParkedPull {
  readonly consumer: string;
  /** The job; undefined once the request expired, was refused, or was withdrawn before a job came. */
  readonly delivery: Promise<JobDelivery | undefined>;
  /**
   * Withdraws the request: the inbox is drained (unsubscribed, then flushed), so a job the server sent before
   * it saw the unsubscribe still resolves `delivery` (its holder must run or release it).
   */
  withdraw(): void;
}

/** Headroom after the request's expiry before the client stops waiting for the server's answer. */
const PARK_MARGIN_MS = 1_000;

/** Parks a request for one job on the consumer for up to expiresMs. */
export function parkOne(nc: NatsConnection, stream: string, consumer: string, expiresMs: number): ParkedPull {
  const { promise, resolve } = Promise.withResolvers<JobDelivery | undefined>();
  const inbox = createInbox();
  let timer: NodeJS.Timeout | undefined;
  const subscription = nc.subscribe(inbox, {
    max: 1,
    callback: (_error, message) => {
      clearTimeout(timer);
      // A status instead of a job: 408 expired, 409 consumer gone or too many waiting requests.
      resolve(message.headers?.hasError || !message.reply ? undefined : toDelivery(consumer, message));
    },
  });
  const withdraw = () => {
    clearTimeout(timer);
    if (subscription.isClosed()) return resolve(undefined);
    // Bounded: a drain waits for the server's answer, which never comes while the connection is down.
    const drained = subscription.drain().catch(() => undefined);
    void settledWithin(drained, PARK_MARGIN_MS).finally(() => {
      if (!subscription.isClosed()) subscription.unsubscribe();
      resolve(undefined);
    });
  };
  try {
    const request = JSON.stringify({ batch: 1, expires: expiresMs * 1_000_000 });
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, request, { reply: inbox });
    // No answer at all (a restarted server forgot the request): stop waiting a little after it would expire.
    timer = setTimeout(withdraw, expiresMs + PARK_MARGIN_MS);
    timer.unref();
  } catch {
    subscription.unsubscribe();
    resolve(undefined);
  }
  return { consumer, delivery: promise, withdraw };
}

function toDelivery(consumer: string, message: Msg): JobDelivery | undefined {
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>, optionally with
  // <domain>.<account hash> after ACK and a random token at the end.
  const tokens = message.reply!.split('.');
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK') return undefined;
  const tail = tokens.length === 9 ? tokens.slice(4) : tokens.slice(6);
  const deliveryCount = Number(tail[0]);
  const streamSeq = Number(tail[1]);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSeq)) return undefined;
  const { data, headers } = message;
  return { consumer, data, headers, streamSeq, deliveryCount, replySubject: message.reply! };
}

/**
 * Done: JetStream removes the job from the work queue. Not confirmed (CPU and a reply per job saved): the
 * execution's record, finished before this, is the truth, so an ack that is lost only leaves the message to
 * be redelivered after the ack wait, and that delivery finds the execution finished and acks it again.
 */
export function ack(nc: NatsConnection, delivery: JobDelivery): void {
  try {
    nc.publish(delivery.replySubject, '+ACK');
  } catch {
    // Closed connection: as a lost ack, above.
  }
}

/** Still working: restarts the ack-wait clock so a long job is not redelivered. */
export function working(nc: NatsConnection, delivery: JobDelivery): void {
  try {
    nc.publish(delivery.replySubject, '+WPI');
  } catch {
    // Closed connection: the job will be redelivered and handled as a lost worker's.
  }
}

/** Not taken after all: JetStream hands it to a worker again at once. */
export function release(nc: NatsConnection, delivery: JobDelivery): void {
  try {
    nc.publish(delivery.replySubject, '-NAK');
  } catch {
    // As above: it comes back after the ack wait instead.
  }
}

/** Not now: JetStream hands it out again after delayMs (its runner is alive but lost its ack state). */
export function releaseLater(nc: NatsConnection, delivery: JobDelivery, delayMs: number): void {
  try {
    nc.publish(delivery.replySubject, `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}`);
  } catch {
    // As above.
  }
}

/** Never deliver this message again (malformed, or its execution is gone). */
export function terminate(nc: NatsConnection, delivery: JobDelivery): void {
  try {
    nc.publish(delivery.replySubject, '+TERM');
  } catch {
    // As above.
  }
}
