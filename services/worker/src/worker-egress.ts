// Egress in a worker process (scaled out on NATS). The sandbox network is local to each Docker host,
// so the proxy runs next to the sandboxes, in one of two ways:
// - AIRLOCK_EGRESS=on: the worker creates its own egress network, proxy and firewall (the same stack as the
//   embedded service) and hands its broker to the execution worker;
// - AIRLOCK_EGRESS=remote: this host's standalone proxy (services/egress-proxy, AIRLOCK_EGRESS_PROXY_ID) owns
//   them; the worker opens and closes runs over NATS (remote-egress-broker.ts) and its containers join the
//   proxy's network.
// A gateway with AIRLOCK_EGRESS=on accepts egress runs on the promise that its workers offer egress, so a
// worker that cannot start egress (or find its proxy) refuses to start instead of consuming those jobs only
// to reject them.

import type { Config } from '@airlock/config';
import { startEmbeddedEgress } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import type { EgressNetwork } from '@airlock/sandbox';
import type { NatsConnection } from '@nats-io/transport-node';
import Dockerode from 'dockerode';
import type { EgressBroker } from './egress-broker.ts';
import { RemoteEgressBroker } from './remote-egress-broker.ts';
import { RemoteEgressNetwork } from './remote-egress-network.ts';

/** AIRLOCK_EGRESS=on|remote but egress could not start (no dockerd, iptables or nsenter; no proxy). */
export class WorkerEgressError extends Error {
  override readonly name = 'WorkerEgressError';
}

/** How long a remote-egress worker waits at start for its proxy to answer. */
const LOCATE_PROXY_MS = 30_000;

export interface WorkerEgress {
  readonly broker: EgressBroker;
  /** The network container sandboxes with egress join. */
  readonly network: Pick<EgressNetwork, 'name' | 'sealDns'>;
  /** `gateway:port on network` (and the proxy id when remote), for the ready line. */
  describe(): string;
  /** Closes what this worker owns of egress (nothing of a standalone proxy's). */
  close(): Promise<void>;
}

/** The worker's egress, or undefined with AIRLOCK_EGRESS=off; close it after the sandboxes. */
export async function startWorkerEgress(
  config: Config,
  logger: Logger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv: Readonly<Record<string, string | undefined>> | undefined,
  /** The worker's NATS connection (AIRLOCK_EGRESS=remote asks its proxy over it). */
  nc: NatsConnection,
): Promise<WorkerEgress | undefined> {
  if (config.AIRLOCK_EGRESS === 'off') return undefined;
  const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
  if (config.AIRLOCK_EGRESS === 'remote') {
    const proxyId = config.AIRLOCK_EGRESS_PROXY_ID;
    let network: RemoteEgressNetwork;
    try {
      network = new RemoteEgressNetwork(
        docker,
        await RemoteEgressBroker.locate(nc, proxyId, LOCATE_PROXY_MS),
      );
    } catch (error) {
      throw new WorkerEgressError(
        `AIRLOCK_EGRESS=remote but the egress proxy '${proxyId}' does not answer (start services/egress-proxy on this host): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return {
      broker: new RemoteEgressBroker(nc, proxyId, network),
      network,
      describe: () => `${network.proxy.host}:${network.proxy.port} on ${network.name} (proxy ${proxyId})`,
      close: async () => {},
    };
  }
  try {
    const egress = await startEmbeddedEgress(config, docker, logger, secretsEnv);
    return {
      broker: egress.broker,
      network: egress.network,
      describe: () => `${egress.network.gateway}:${egress.proxy.address.port} on ${egress.network.name}`,
      close: () => egress.close(),
    };
  } catch (error) {
    throw new WorkerEgressError(
      `AIRLOCK_EGRESS=on but egress could not start (needs dockerd, iptables and nsenter): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
