// The standalone egress proxy of one Docker host (scaled out with AIRLOCK_EGRESS=remote workers): the same
// egress network, firewall and proxy a worker would run for itself (startEmbeddedEgress), plus a NATS
// connection on which it offers run control under `airlock.egress.<AIRLOCK_EGRESS_PROXY_ID>.`, started in
// order on one cleanup stack. Closing (or a failed start) releases them in reverse: stops answering, closes
// every open run, drains the connection, then removes the proxy, firewall and network.

import type { Config } from '@airlock/config';
import { connect } from '@nats-io/transport-node';
import Dockerode from 'dockerode';
import { egressSubjects, type ProxyInfo } from './egress-control.ts';
import { type EgressControl, startEgressControl } from './egress-control-service.ts';
import { startEmbeddedEgress } from './egress-setup.ts';
import type { ProxyLogger } from './proxy-context.ts';

export interface StandaloneEgress {
  readonly proxyId: string;
  readonly info: ProxyInfo;
  readonly control: EgressControl;
  close(): Promise<void>;
}

export async function startStandaloneEgress(
  config: Config,
  logger: ProxyLogger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv?: Readonly<Record<string, string | undefined>>,
): Promise<StandaloneEgress> {
  const proxyId = config.AIRLOCK_EGRESS_PROXY_ID;
  egressSubjects(proxyId); // refuses an id that is not one subject token before anything is built
  await using stack = new AsyncDisposableStack();
  const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
  const egress = await startEmbeddedEgress(config, docker, logger, secretsEnv);
  stack.defer(() => egress.close());
  const nc = await connect({
    servers: [...config.AIRLOCK_NATS_URL],
    name: `airlock-egress-proxy-${proxyId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: 20_000,
  });
  stack.defer(() => nc.drain().catch(() => nc.close()));
  const info: ProxyInfo = {
    network: egress.network.name,
    proxy: { host: egress.network.gateway, port: egress.proxy.address.port },
  };
  const control = startEgressControl({
    nc,
    proxyId,
    proxy: egress.proxy,
    broker: egress.broker,
    info,
    logger,
  });
  stack.defer(() => control.stop());
  const started = stack.move();
  let closed: Promise<void> | undefined;
  return {
    proxyId,
    info,
    control,
    close() {
      closed ??= started.disposeAsync();
      return closed;
    },
  };
}
