// What the worker needs from the egress proxy (issue #4): open a run (mint its per-run proxy credential and
// credential sentinels, returned as the variables the sandbox gets) and close it (revoke, collect records).
// The proxy implements it in-process (embedded mode, AIRLOCK_EGRESS=on), a standalone proxy over NATS
// (AIRLOCK_EGRESS=remote, remote-egress-broker.ts); the worker depends only on this interface.

import type { EgressRecord, NetworkInput } from '@airlock/protocol';

export interface EgressBroker {
  /** Throws AirlockError `egress_unavailable` when the run asks for something the proxy cannot serve. */
  open(
    executionId: string,
    network: Extract<NetworkInput, { egress: 'proxy' }>,
    ttlMs: number,
  ): { env: Record<string, string> } | Promise<{ env: Record<string, string> }>;
  /** Revokes the run's credential and returns its egress records (idempotent). */
  close(executionId: string): EgressRecord[] | Promise<EgressRecord[]>;
}
