// The world of the proxy's tests: a proxy on loopback, an upstream it may reach, a decoy on the same port of
// another loopback address (where a rebinding answer would lead), and a table resolver (never real DNS).
// useProxyWorld() registers the hooks that build it before each test and tear all of it down after, also
// when a test replaced the proxy or the upstream with its own.

import { afterEach, beforeEach } from 'vitest';
import { EgressProxy, type EgressProxyOptions } from './egress-proxy.ts';
import type { RunAccess } from './egress-runs.ts';
import { TableResolver } from './resolver.ts';
import { basic, startHttpUpstream, type Upstream } from './test-upstreams.ts';

/** The proxy-authorization value of a run's credential. */
export const authOf = (a: RunAccess): string => basic(a.username, a.password);

/** One test's proxy, upstreams and resolver; fields are set before each test. */
export class ProxyWorld {
  upstream!: Upstream;
  decoy!: Upstream;
  proxy!: EgressProxy;
  resolver!: TableResolver;

  /** A proxy that may dial the upstream's port on 127.0.0.1 and nothing else, with `extra` options. */
  startProxy(extra: Partial<EgressProxyOptions> = {}): Promise<EgressProxy> {
    return EgressProxy.start({
      host: '127.0.0.1',
      port: 0,
      resolver: this.resolver,
      allowances: [{ address: '127.0.0.1', port: this.upstream.port }],
      server: { ports: [80, 443, this.upstream.port] },
      ...extra,
    });
  }

  /** Opens a run on the current proxy with these allow rules and no credentials. */
  open(executionId: string, allow: Array<{ host: string; ports?: number[]; methods?: string[] }>): RunAccess {
    return this.proxy.openRun({
      executionId,
      network: { egress: 'proxy', allow, credentials: [] },
      ttlMs: 60_000,
    });
  }
}

/** Registers before/after hooks that build and tear down a fresh ProxyWorld around every test. */
export function useProxyWorld(): ProxyWorld {
  const f = new ProxyWorld();
  beforeEach(async () => {
    f.upstream = await startHttpUpstream('127.0.0.1');
    f.decoy = await startHttpUpstream('127.0.0.2');
    f.resolver = new TableResolver({
      'api.test': ['127.0.0.1'],
      'metadata.test': ['169.254.169.254'],
      'mixed.test': ['127.0.0.1', '10.0.0.1'],
      'rebind.test': [['127.0.0.1'], ['127.0.0.2']],
      'rebind-late.test': [['127.0.0.2'], ['127.0.0.1']],
    });
    f.proxy = await f.startProxy();
  });
  afterEach(async () => {
    await f.proxy.close();
    await f.upstream.close();
    await f.decoy.close();
  });
  return f;
}
