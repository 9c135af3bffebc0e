// The worker's side of a standalone egress proxy (AIRLOCK_EGRESS=remote): the EgressBroker the execution worker
// uses, over NATS request-reply on `airlock.egress.<proxy id>.{open,close,info}` (egress-control.ts in
// @airlock/egress-proxy). Opening a run returns the sandbox's EgressAccess from the proxy (the proxy URL on the
// proxy's network carries the per-run credential) and points the container sandboxes at the proxy's network;
// closing returns the run's egress records. A proxy that does not answer refuses the run (`egress_unavailable`),
// it never runs without its proxy. Must never log the access it gets back.

import {
  CloseRunReply,
  ControlError,
  type EgressSubjects,
  egressSubjects,
  OpenRunReply,
  ProxyInfo,
} from '@airlock/egress-proxy';
import {
  AirlockError,
  type EgressRecord,
  ERROR_CODES,
  type ErrorCode,
  type NetworkInput,
} from '@airlock/protocol';
import type { EgressAccess } from '@airlock/sandbox';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EgressBroker } from './egress-broker.ts';
import type { RemoteEgressNetwork } from './remote-egress-network.ts';

/** How long one control request waits for the proxy's answer. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A reply schema (zod's safeParse). */
interface ReplySchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false };
}

/** The proxy's answer: the parsed reply, or the coded error it sent. */
type Answer<T> = { ok: true; value: T } | { ok: false; error: AirlockError };

export class RemoteEgressBroker implements EgressBroker {
  readonly #nc: NatsConnection;
  readonly #subjects: EgressSubjects;
  readonly #proxyId: string;
  readonly #network: RemoteEgressNetwork;

  constructor(nc: NatsConnection, proxyId: string, network: RemoteEgressNetwork) {
    this.#nc = nc;
    this.#proxyId = proxyId;
    this.#subjects = egressSubjects(proxyId);
    this.#network = network;
  }

  /** Asks the proxy where it is, until it answers or `waitMs` has passed (then throws). */
  static async locate(nc: NatsConnection, proxyId: string, waitMs: number): Promise<ProxyInfo> {
    const subject = egressSubjects(proxyId).info;
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const reply = await nc.request(subject, '', { timeout: Math.min(REQUEST_TIMEOUT_MS, waitMs) });
        return ProxyInfo.parse(reply.json());
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`no egress proxy answers on ${subject}: ${(error as Error).message}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async open(
    executionId: string,
    network: Extract<NetworkInput, { egress: 'proxy' }>,
    ttlMs: number,
  ): Promise<EgressAccess> {
    const answer = await this.#request(
      this.#subjects.open,
      { execution_id: executionId, network, ttl_ms: ttlMs },
      OpenRunReply,
    );
    if (!answer.ok) throw answer.error;
    this.#network.update(answer.value);
    return { proxyUrl: answer.value.proxy_url, sentinels: answer.value.sentinels };
  }

  async close(executionId: string): Promise<EgressRecord[]> {
    const answer = await this.#request(this.#subjects.close, { execution_id: executionId }, CloseRunReply);
    if (answer.ok) return answer.value.records;
    // Already closed (or expired and closed by the proxy): closing is idempotent.
    if (answer.error.code === 'execution_not_found') return [];
    throw answer.error;
  }

  async #request<T>(subject: string, body: unknown, schema: ReplySchema<T>): Promise<Answer<T>> {
    let data: unknown;
    try {
      const reply = await this.#nc.request(subject, JSON.stringify(body), { timeout: REQUEST_TIMEOUT_MS });
      data = reply.json();
    } catch (error) {
      return {
        ok: false,
        error: new AirlockError(
          'egress_unavailable',
          `the egress proxy '${this.#proxyId}' did not answer (${(error as Error).message})`,
        ),
      };
    }
    const failed = ControlError.safeParse(data);
    if (failed.success) {
      const { code, message, field } = failed.data.error;
      const known = (code in ERROR_CODES ? code : 'egress_unavailable') as ErrorCode;
      return { ok: false, error: new AirlockError(known, message, field === undefined ? {} : { field }) };
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      return {
        ok: false,
        error: new AirlockError(
          'egress_unavailable',
          `the egress proxy '${this.#proxyId}' sent a malformed reply`,
        ),
      };
    }
    return { ok: true, value: parsed.data };
  }
}
