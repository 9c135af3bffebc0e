// What the worker needs from the egress proxy: open a run (mint its per-run proxy credential and credential
// sentinels, handed over as the sandbox's EgressAccess) and close it (revoke, collect records). The proxy
// implements it in-process (embedded mode, AIRLOCK_EGRESS=on: ProxyEgressBroker in @airlock/egress-proxy), a
// standalone proxy over NATS (AIRLOCK_EGRESS=remote, remote-egress-broker.ts); the worker depends only on this
// interface.

import type { EgressRecord, NetworkInput } from '@airlock/protocol';
import type { EgressAccess } from '@airlock/sandbox';

export interface EgressBroker {
  /** Throws AirlockError `egress_unavailable` when the run asks for something the proxy cannot serve. */
  open(
    executionId: string,
    network: Extract<NetworkInput, { egress: 'proxy' }>,
    ttlMs: number,
  ): EgressAccess | Promise<EgressAccess>;
  /** Revokes the run's credential and returns its egress records (idempotent). */
  close(executionId: string): EgressRecord[] | Promise<EgressRecord[]>;
}
