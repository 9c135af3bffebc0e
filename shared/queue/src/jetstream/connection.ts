// Opens the NATS connection a gateway or worker process runs on: it reconnects forever (a nats-server
// restart is an outage to wait out, not a reason to exit), says who it is in the server's monitoring, and
// makes no stack trace per request (noAsyncTraces: CPU on the hot path).
// Must never give up reconnecting on its own; the owner closes it (or the cleanup stack it is opened on).

import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsConnectOptions {
  /** `nats://host:port` URLs of the cluster. */
  servers: readonly string[];
  /** Shown by the server for this client, e.g. `airlock-worker`. */
  name: string;
  /**
   * Milliseconds between reconnect attempts.
   * @default 250
   */
  reconnectTimeWaitMs?: number;
  /**
   * Milliseconds the first connect may take before it fails.
   * @default 20_000
   */
  timeoutMs?: number;
  /**
   * The owner's cleanup stack: the connection's release (drain, or close when draining fails) is deferred on
   * it as soon as the connection is open.
   * @default none: the caller closes the connection
   */
  stack?: AsyncDisposableStack;
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: [...options.servers],
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
    timeout: options.timeoutMs ?? 20_000,
    // Without it the client makes an Error (a stack trace) up front for every request and every timer, in
    // case it fails: ~12% of a gateway's and a worker's CPU per job (scripts/bench/nats-steps.ts under
    // --cpu-prof). A failed request still rejects with the same error classes and messages, only without
    // the caller's stack in them.
    noAsyncTraces: true,
  });
  options.stack?.defer(() => nc.drain().catch(() => nc.close()));
  return nc;
}
