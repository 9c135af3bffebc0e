// The egress network of this Docker host's standalone proxy (AIRLOCK_EGRESS=remote), as the
// worker's container sandboxes see it: the name containers join, and the DNS seal every sandbox on it gets
// in its own network namespace (the proxy process owns the network and its firewall; the worker only joins).
// The name follows the proxy's replies, so a restarted proxy's new network is joined from its next run on.
// Must never change anything but the sealed container's own namespace.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ProxyInfo } from '@airlock/egress-proxy';
import type Dockerode from 'dockerode';

const run = promisify(execFile);

export class RemoteEgressNetwork {
  #info: ProxyInfo;
  readonly #docker: Dockerode;

  constructor(docker: Dockerode, info: ProxyInfo) {
    this.#docker = docker;
    this.#info = info;
  }

  /** The Docker network sandboxes with egress join. */
  get name(): string {
    return this.#info.network;
  }

  /** Where the proxy listens on that network. */
  get proxy(): ProxyInfo['proxy'] {
    return this.#info.proxy;
  }

  /** Takes the network and address of the proxy's latest reply. */
  update(info: ProxyInfo): void {
    this.#info = { network: info.network, proxy: { ...info.proxy } };
  }

  /** Removes Docker's embedded resolver (127.0.0.11) from a started container's network namespace. */
  async sealDns(containerId: string): Promise<void> {
    const info = await this.#docker.getContainer(containerId).inspect();
    const netns = info.NetworkSettings?.SandboxKey;
    if (!netns) throw new Error(`container ${containerId.slice(0, 12)} has no network namespace`);
    await run(
      'nsenter',
      [`--net=${netns}`, 'iptables', '-w', '-I', 'OUTPUT', '-d', '127.0.0.11', '-j', 'DROP'],
      {
        timeout: 30_000,
      },
    );
  }
}
