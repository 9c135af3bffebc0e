// Everything the request handlers of the proxy share: runs, policy, address check, resolver, credential
// bindings and secrets, the CA bundle for TLS upstreams, and a logger that never receives secret values.

import type { AddressCheck } from './address-check.ts';
import type { CredentialBindings } from './credential-bindings.ts';
import type { ServerEgressPolicy } from './egress-policy.ts';
import type { EgressRuns } from './egress-runs.ts';
import type { Resolver } from './resolver.ts';
import type { SecretsProvider } from './secrets.ts';

export interface ProxyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ProxyContext {
  runs: EgressRuns;
  server: ServerEgressPolicy;
  addresses: AddressCheck;
  resolver: Resolver;
  bindings: CredentialBindings;
  secrets: SecretsProvider | undefined;
  /** CA certificates that verify TLS upstreams (default: Node's bundled roots). */
  upstreamCa: string[] | undefined;
  /** Deadline of a resolution and of a connect. */
  dialTimeoutMs: number;
  logger: ProxyLogger | undefined;
}
