// The worker side of one queue instance: while it has a free slot it asks the tenants' consumers for a job in
// round-robin order, hands each delivery to the runner, and keeps heartbeats, cancel notices and the news of
// new work flowing. News comes from wake-up messages sent after each submit, and from a periodic listing
// of the consumers (for tenants it has not heard of, and for jobs accepted while it was cut off). A wake-up
// names its job's stream sequence: one for a job this worker has already received (its parked pull brought
// it) is skipped, since every job behind it sends its own (CPU and a pull round trip per job saved); so is the
// first one for the consumer of the parked pull while it waits, whose job goes to a waiting request: if the
// parked pull then brings another job or none, that consumer is asked as the wake-up would have made it. Of the
// consumers of jobs routed by a template it takes work only from those whose template is ready here
// (job-routes.ts); the others it asks once per redelivery check, and only when another worker holds jobs there.
// When no consumer is known to have work and at least two slots are free, it also parks one pull request on the
// consumer it served last, so that consumer's next job arrives without a wake-up and a pull round trip; the
// parked request holds one slot, and the other slots keep the round-robin going for every other consumer.
// Must never hold more jobs than its concurrency (a parked request counts as one), and never stop on a lost
// connection: it retries.

import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type JobDelivery, type ParkedPull, parkOne, pullOne, release } from './job-delivery.ts';
import type { JobRoutes } from './job-routes.ts';
import type { JobRunner } from './job-runner.ts';
import type { QueueNames } from './names.ts';
import { TenantRotation } from './tenant-rotation.ts';

export interface ConsumerDeps {
  nc: NatsConnection;
  jsm: JetStreamManager;
  names: QueueNames;
  runner: JobRunner;
  routes: JobRoutes;
  concurrency: number;
  heartbeatMs: number;
  pollIntervalMs: number;
  /**
   * Milliseconds between looks at consumers whose jobs other workers hold: a job whose ack wait ran out
   * is only handed out on a pull, and consumer info does not count it as pending.
   */
  redeliveryCheckMs: number;
  onError: (error: unknown, during: string) => void;
}

const ERROR_PAUSE_MS = 250;
/** How long a parked pull request waits on the server before it expires and is parked again. */
const PARK_MS = 5_000;
/** Received jobs remembered to skip their wake-ups: far more than can arrive between a job and its wake-up. */
const RECEIVED_KEPT = 256;

export class JobConsumer {
  readonly #deps: ConsumerDeps;
  readonly #rotation: TenantRotation;
  readonly #timers: NodeJS.Timeout[] = [];
  #wakeUps: Subscription | undefined;
  #cancels: Subscription | undefined;
  #probes: Subscription | undefined;
  #inFlight = 0;
  /** The pull request parked on the server, if any: it holds one slot. */
  #parked: ParkedPull | undefined;
  /** The stream sequence named by the wake-up the parked pull stands in for, if one came while it waited. */
  #parkedFor: string | undefined;
  /** The consumer a job came from last: where a pull is parked. */
  #lastServed: string | undefined;
  /** `<consumer> <stream seq>` of the jobs received lately, oldest first (their wake-ups are skipped). */
  readonly #received = new Set<string>();
  #stopping = false;
  #listing = false;
  #lastRedeliveryCheck = 0;
  /** Set when news arrives while the loop is not asleep, so it does not sleep through it. */
  #woken = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(deps: ConsumerDeps) {
    this.#deps = deps;
    this.#rotation = new TenantRotation((consumer) => deps.routes.tenantOf(consumer));
  }

  start(): void {
    const { nc, names, runner, heartbeatMs, pollIntervalMs, onError } = this.#deps;
    this.#wakeUps = nc.subscribe(names.allWakeUps, {
      callback: (_error, message) => {
        const consumer = names.consumerOfWakeUp(message.subject);
        if (consumer === undefined || !this.#deps.routes.runs(consumer)) return;
        // Without a sequence (an older gateway), or for a job not received here, the consumer is asked.
        const seq = message.data.length > 0 ? message.string() : undefined;
        if (seq !== undefined && this.#received.has(`${consumer} ${seq}`)) return;
        if (seq !== undefined && this.#parked?.consumer === consumer && this.#parkedFor === undefined) {
          this.#parkedFor = seq; // the parked request is served first: the job comes to it (or see #park)
          return;
        }
        this.#rotation.hasWork(consumer);
        this.#wakeUp();
      },
    });
    this.#cancels = nc.subscribe(names.allCancels, {
      callback: (_error, message) => {
        const id = names.idOfCancel(message.subject);
        if (id === undefined) return;
        runner.noticeCancel(id).catch((error: unknown) => onError(error, 'handling a cancel notice'));
      },
    });
    this.#probes = nc.subscribe(names.runnerProbe(runner.instanceId), {
      callback: (_error, message) => {
        try {
          message.respond(runner.probe(message.string()));
        } catch {
          // Not a request, or the connection is gone.
        }
      },
    });
    this.#every(heartbeatMs, () => runner.heartbeat());
    this.#every(pollIntervalMs, () => this.#discover());
    this.#discover();
    this.#loop = this.#pullLoop();
  }

  /** Stops asking for jobs and waits for the loop to notice; running jobs are the runner's to stop. */
  async stopPulling(): Promise<void> {
    this.#stopping = true;
    this.#wakeUp();
    await this.#loop;
    const parked = this.#parked;
    parked?.withdraw();
    await parked?.delivery;
    this.#wakeUps?.unsubscribe();
  }

  /** Stops everything else (heartbeats, cancel notices), once the runner is done with its jobs. */
  stop(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#wakeUps?.unsubscribe();
    this.#cancels?.unsubscribe();
    this.#probes?.unsubscribe();
  }

  async #pullLoop(): Promise<void> {
    const { nc, names, concurrency, pollIntervalMs, onError } = this.#deps;
    while (!this.#stopping) {
      const held = this.#inFlight + (this.#parked ? 1 : 0);
      const turn = held < concurrency ? this.#rotation.next() : undefined;
      if (!turn) {
        this.#park();
        await this.#sleep(pollIntervalMs);
        continue;
      }
      let delivery: Awaited<ReturnType<typeof pullOne>>;
      try {
        delivery = await pullOne(nc, names.jobStream, turn.consumer);
      } catch (error) {
        if (!nc.isClosed()) onError(error, `pulling from ${turn.consumer}`);
        this.#rotation.forget(turn.consumer); // the next listing brings it back if it exists
        await this.#sleep(ERROR_PAUSE_MS);
        continue;
      }
      // A template not ready here: one look per redelivery check, only to settle another worker's lost run.
      if (!this.#deps.routes.runs(turn.consumer)) this.#rotation.forget(turn.consumer);
      if (!delivery) {
        this.#rotation.empty(turn);
        continue;
      }
      this.#rotation.served(turn);
      this.#run(delivery);
    }
  }

  #run(delivery: JobDelivery): void {
    this.#received.add(`${delivery.consumer} ${delivery.streamSeq}`);
    if (this.#received.size > RECEIVED_KEPT) this.#received.delete(this.#received.values().next().value!);
    // A pull is parked only where this worker runs the jobs (not on a template consumer it merely checks).
    if (this.#deps.routes.runs(delivery.consumer)) this.#lastServed = delivery.consumer;
    this.#inFlight++;
    void this.#deps.runner.handle(delivery).finally(() => {
      this.#inFlight--;
      this.#wakeUp();
    });
  }

  /**
   * Parks a pull on the consumer served last, when no consumer is known to have work and a slot stays free for
   * the round-robin besides the parked one (so a job of another consumer never waits for the parked request).
   */
  #park(): void {
    const { nc, names, concurrency, onError } = this.#deps;
    const consumer = this.#lastServed;
    if (this.#parked || this.#stopping || consumer === undefined || nc.isClosed()) return;
    if (!this.#deps.routes.runs(consumer)) return; // its template is no longer ready here
    if (this.#rotation.size > 0 || concurrency - this.#inFlight < 2) return;
    let parked: ParkedPull;
    try {
      parked = parkOne(nc, names.jobStream, consumer, PARK_MS);
    } catch (error) {
      onError(error, `parking a pull on ${consumer}`);
      return;
    }
    this.#parked = parked;
    this.#parkedFor = undefined;
    const since = Date.now();
    void parked.delivery.then((delivery) => {
      const standsFor = this.#parked === parked ? this.#parkedFor : undefined;
      if (this.#parked === parked) {
        this.#parked = undefined;
        this.#parkedFor = undefined;
      }
      // It stood in for a wake-up whose job it did not bring: ask the consumer as that wake-up would have.
      if (standsFor !== undefined && standsFor !== String(delivery?.streamSeq)) {
        this.#rotation.hasWork(consumer);
        this.#wakeUp();
      }
      if (delivery === undefined) {
        // Refused at once (the consumer is gone, too many waiting): park again only once it serves a job.
        if (Date.now() - since < PARK_MS / 2 && this.#lastServed === consumer) this.#lastServed = undefined;
        this.#wakeUp();
        return;
      }
      if (this.#stopping) {
        release(nc, delivery); // not taken after all: another worker gets it at once
        return;
      }
      // Its wake-up still comes (sent after every submit), so the round-robin asks for any job behind it.
      this.#run(delivery);
    });
  }

  /** Marks every tenant whose consumer has jobs waiting. */
  #discover(): void {
    const { jsm, names, onError, nc } = this.#deps;
    if (this.#stopping || this.#listing || nc.isClosed()) return;
    this.#listing = true;
    const now = Date.now();
    const checkHeld = now - this.#lastRedeliveryCheck >= this.#deps.redeliveryCheckMs;
    if (checkHeld) this.#lastRedeliveryCheck = now;
    void (async () => {
      let found = false;
      for await (const info of jsm.consumers.list(names.jobStream)) {
        if (!info.name.startsWith('jobs-')) continue;
        const heldElsewhere = info.num_ack_pending > this.#deps.runner.heldFrom(info.name);
        const runs = this.#deps.routes.runs(info.name);
        if ((runs && info.num_pending > 0) || (checkHeld && heldElsewhere)) {
          this.#rotation.hasWork(info.name);
          found = true;
        }
      }
      if (found) this.#wakeUp();
    })()
      .catch((error: unknown) => {
        if (!nc.isClosed()) onError(error, 'listing job consumers');
      })
      .finally(() => {
        this.#listing = false;
      });
  }

  #every(ms: number, task: () => void): void {
    const timer = setInterval(task, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake) wake();
    else this.#woken = true;
  }
}
