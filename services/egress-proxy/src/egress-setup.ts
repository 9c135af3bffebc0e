// Builds the proxy's options from the service configuration (allowances, deny list, ports, credential
// bindings, secrets, upstream CA, hosts table, per-run limits), and the embedded egress stack: the egress
// network, the proxy on its gateway, the firewall that leaves only the proxy port open, started in order on
// one cleanup stack: anything half-built is torn down again when a later step fails.

import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { Config } from '@airlock/config';
import { EgressNetwork, sweepEgressLeftovers } from '@airlock/sandbox';
import type Dockerode from 'dockerode';
import { loadCredentialBindings } from './credential-bindings.ts';
import { EgressProxy, type EgressProxyOptions } from './egress-proxy.ts';
import type { ProxyLogger } from './proxy-context.ts';
import { ProxyEgressBroker } from './proxy-egress-broker.ts';
import { TableResolver } from './resolver.ts';
import { EnvSecretsProvider, FileSecretsProvider } from './secrets.ts';

export async function proxyOptionsFromConfig(
  config: Config,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv: Readonly<Record<string, string | undefined>> = {},
): Promise<Omit<EgressProxyOptions, 'host' | 'port'>> {
  const options: Omit<EgressProxyOptions, 'host' | 'port'> = {
    allowances: config.AIRLOCK_EGRESS_ALLOWANCES,
    server: { denyHosts: config.AIRLOCK_EGRESS_DENY_HOSTS, ports: config.AIRLOCK_EGRESS_PORTS },
    runLimits: {
      maxConnections: config.AIRLOCK_EGRESS_MAX_CONNECTIONS,
      maxBytes: config.AIRLOCK_EGRESS_MAX_BYTES,
      requestsPerMinute: config.AIRLOCK_EGRESS_REQUESTS_PER_MINUTE,
      idleTimeoutMs: config.AIRLOCK_EGRESS_IDLE_TIMEOUT_MS,
    },
  };
  if (config.AIRLOCK_EGRESS_CREDENTIALS_FILE) {
    options.bindings = await loadCredentialBindings(config.AIRLOCK_EGRESS_CREDENTIALS_FILE);
    options.secrets = config.AIRLOCK_SECRETS_DIR
      ? new FileSecretsProvider(config.AIRLOCK_SECRETS_DIR)
      : new EnvSecretsProvider(secretsEnv);
  }
  if (config.AIRLOCK_EGRESS_UPSTREAM_CA_FILE) {
    const extra = await readFile(config.AIRLOCK_EGRESS_UPSTREAM_CA_FILE, 'utf8');
    options.upstreamCa = [...rootCertificates, extra];
  }
  if (config.AIRLOCK_EGRESS_HOSTS_FILE) {
    const table = JSON.parse(await readFile(config.AIRLOCK_EGRESS_HOSTS_FILE, 'utf8')) as unknown;
    if (
      typeof table !== 'object' ||
      table === null ||
      !Object.values(table).every((v) => Array.isArray(v) && v.every((a) => typeof a === 'string'))
    ) {
      throw new Error('AIRLOCK_EGRESS_HOSTS_FILE must hold {"name": ["address", …]}');
    }
    options.resolver = new TableResolver(table as Record<string, string[]>);
  }
  return options;
}

/**
 * Names of the credential bindings the proxies of this configuration hold (AIRLOCK_EGRESS_CREDENTIALS_FILE),
 * for the gateway to refuse a run naming any other at submission. Reads only the bindings, never a secret.
 */
export async function boundCredentialNames(config: Config): Promise<string[]> {
  if (!config.AIRLOCK_EGRESS_CREDENTIALS_FILE) return [];
  return [...(await loadCredentialBindings(config.AIRLOCK_EGRESS_CREDENTIALS_FILE)).keys()];
}

export interface EmbeddedEgress {
  network: EgressNetwork;
  proxy: EgressProxy;
  broker: ProxyEgressBroker;
  /** Closes the proxy (revoking every run), removes the firewall rules and the network. */
  close(): Promise<void>;
}

/** The egress stack of the embedded service; call close() after the container sandboxes are closed. */
export async function startEmbeddedEgress(
  config: Config,
  docker: Dockerode,
  logger?: ProxyLogger,
  secretsEnv?: Readonly<Record<string, string | undefined>>,
): Promise<EmbeddedEgress> {
  const options = await proxyOptionsFromConfig(config, secretsEnv);
  const swept = await sweepEgressLeftovers(docker);
  if (swept > 0) logger?.warn({ swept }, 'removed leftover egress networks and their firewall rules');
  await using stack = new AsyncDisposableStack();
  const network = await EgressNetwork.create({
    docker,
    ...(config.AIRLOCK_EGRESS_SUBNET ? { subnet: config.AIRLOCK_EGRESS_SUBNET } : {}),
  });
  stack.defer(() => network.close()); // its firewall rules too
  const proxy = await EgressProxy.start({
    ...options,
    host: network.gateway,
    port: config.AIRLOCK_EGRESS_PROXY_PORT,
    ...(logger ? { logger } : {}),
  });
  stack.defer(() => proxy.close());
  await network.firewall(proxy.address.port);
  logger?.info(
    { network: network.name, subnet: network.subnet, proxy: `${network.gateway}:${proxy.address.port}` },
    'egress proxy listening on the egress network',
  );
  const started = stack.move();
  return {
    network,
    proxy,
    broker: new ProxyEgressBroker(proxy, network.gateway),
    close: () => started.disposeAsync(),
  };
}
