// The worker's side of the proxy in one process (embedded mode): opening a run yields the variables the
// sandbox gets — HTTP_PROXY/HTTPS_PROXY (and lower-case) carrying the per-run proxy credential, pointing at
// the address the sandbox reaches the proxy on — and one AIRLOCK_CREDENTIAL_<NAME> sentinel per credential.
// It must never put a secret value in those variables.

import type { EgressRecord, NetworkInput } from '@airlock/protocol';
import type { EgressProxy } from './egress-proxy.ts';

export function sentinelVariable(name: string): string {
  return `AIRLOCK_CREDENTIAL_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

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
  ): { env: Record<string, string> } {
    const access = this.#proxy.openRun({ executionId, network, ttlMs });
    const url = this.#proxy.proxyUrl(access, this.#advertisedHost);
    const env: Record<string, string> = {
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: '',
      no_proxy: '',
      // Node 24's fetch and http honour the variables only when asked to.
      NODE_USE_ENV_PROXY: '1',
    };
    for (const [name, sentinel] of Object.entries(access.sentinels)) env[sentinelVariable(name)] = sentinel;
    return { env };
  }

  close(executionId: string): EgressRecord[] {
    return this.#proxy.closeRun(executionId).records;
  }
}
