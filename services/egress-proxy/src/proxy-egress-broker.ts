// The EgressBroker of a proxy in the same process (embedded mode, AIRLOCK_EGRESS=on; and the standalone proxy's
// run control, egress-control-service.ts): opening a run mints its per-run proxy credential and credential
// sentinels and hands them over as the sandbox's EgressAccess — the proxy URL carrying the credential, pointing
// at the address the sandbox reaches the proxy on, and the sentinels; closing a run revokes it and returns its
// egress records. It must never put a secret value in what it hands over.

import type { EgressRecord, NetworkInput } from '@airlock/protocol';
import type { EgressAccess } from '@airlock/sandbox';
import type { EgressProxy } from './egress-proxy.ts';

export class ProxyEgressBroker {
  readonly #proxy: EgressProxy;
  readonly #advertisedHost: string;

  /** `advertisedHost`: the proxy's address as sandboxes reach it (the egress network's gateway). */
  constructor(proxy: EgressProxy, advertisedHost: string) {
    this.#proxy = proxy;
    this.#advertisedHost = advertisedHost;
  }

  open(
    executionId: string,
    network: Extract<NetworkInput, { egress: 'proxy' }>,
    ttlMs: number,
  ): EgressAccess {
    const access = this.#proxy.openRun({ executionId, network, ttlMs });
    return {
      proxyUrl: this.#proxy.proxyUrl(access, this.#advertisedHost),
      sentinels: { ...access.sentinels },
    };
  }

  close(executionId: string): EgressRecord[] {
    return this.#proxy.closeRun(executionId).records;
  }
}
