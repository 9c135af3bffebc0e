// Egress in a worker process (scaled out on NATS, issue #4). The sandbox network is local to each Docker host,
// so the proxy runs next to the sandboxes: a worker with AIRLOCK_EGRESS=on creates its own egress network,
// proxy and firewall (the same stack as the embedded service) and hands its broker to the execution worker.
// A gateway with AIRLOCK_EGRESS=on accepts egress runs on the promise that its workers offer egress, so a
// worker that cannot start egress refuses to start instead of consuming those jobs only to reject them.

import type { Config } from '@airlock/config';
import { type EmbeddedEgress, startEmbeddedEgress } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import Dockerode from 'dockerode';

/** AIRLOCK_EGRESS=on but the egress stack could not start (no dockerd, iptables or nsenter). */
export class WorkerEgressError extends Error {
  override readonly name = 'WorkerEgressError';
}

/** The worker's egress stack, or undefined with AIRLOCK_EGRESS=off; close it after the sandboxes. */
export async function startWorkerEgress(
  config: Config,
  logger: Logger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv?: Readonly<Record<string, string | undefined>>,
): Promise<EmbeddedEgress | undefined> {
  if (config.AIRLOCK_EGRESS !== 'on') return undefined;
  try {
    const docker = new Dockerode({ socketPath: config.AIRLOCK_DOCKER_SOCKET });
    return await startEmbeddedEgress(config, docker, logger, secretsEnv);
  } catch (error) {
    throw new WorkerEgressError(
      `AIRLOCK_EGRESS=on but egress could not start (needs dockerd, iptables and nsenter): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
