// The fetches of one isolate job: starts each checked request through the run's egress proxy, keeps
// its reply until the guest takes it, tells the job when one is ready, and aborts all of them when the job
// ends (deadline, cancel, exit). A job without egress has no proxy: every fetch is refused with a message.
// Must never keep a request running after close(), nor hand a reply to the guest twice.

import {
  checkFetchRequest,
  type FetchProxy,
  type GuestFetchReply,
  MAX_PENDING_FETCHES,
  parseFetchProxy,
  performFetch,
} from './guest-fetch.ts';

export const NO_EGRESS_MESSAGE =
  "this run has no network egress (ask for network: { egress: 'proxy', allow: [...] } on a server that offers it)";

export class GuestFetches {
  readonly #proxy: FetchProxy | null;
  readonly #onReady: (id: number) => void;
  readonly #controller = new AbortController();
  readonly #running = new Set<number>();
  readonly #ready = new Map<number, GuestFetchReply>();

  /** `proxyUrl`: the run's proxy URL with its credential, absent without egress. */
  constructor(proxyUrl: string | undefined, onReady: (id: number) => void) {
    this.#proxy = proxyUrl === undefined ? null : parseFetchProxy(proxyUrl);
    this.#onReady = onReady;
  }

  /** Requests started and not yet taken by the guest; while above zero the job stays alive. */
  get pending(): number {
    return this.#running.size + this.#ready.size;
  }

  /** Starts fetch `id`; returns null when it started, or why it was refused (the guest's TypeError). */
  start(id: number, method: unknown, url: unknown, headers: unknown, body: unknown, redirect: unknown) {
    if (this.#proxy === null) return NO_EGRESS_MESSAGE;
    if (this.#controller.signal.aborted) return 'the job has ended';
    if (this.#running.has(id) || this.#ready.has(id)) return 'duplicate request id';
    if (this.pending >= MAX_PENDING_FETCHES) {
      return `too many requests in flight (the isolate sandbox allows ${MAX_PENDING_FETCHES})`;
    }
    const request = checkFetchRequest(method, url, headers, body, redirect);
    if (typeof request === 'string') return request;
    this.#running.add(id);
    void performFetch(this.#proxy, request, this.#controller.signal).then((reply) => {
      if (!this.#running.delete(id) || this.#controller.signal.aborted) return;
      this.#ready.set(id, reply);
      this.#onReady(id);
    });
    return null;
  }

  /** The reply of fetch `id`, once; a reply taken twice (or never made) is a failure. */
  take(id: number): GuestFetchReply {
    const reply = this.#ready.get(id);
    if (reply === undefined) return { ok: false, message: 'no reply for this request' };
    this.#ready.delete(id);
    return reply;
  }

  /** Aborts every request in flight and drops unread replies. */
  close(): void {
    this.#controller.abort();
    this.#running.clear();
    this.#ready.clear();
  }
}
