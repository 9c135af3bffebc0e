// The network of runs with egress: one internal Docker network (no route out, inter-container
// traffic off) whose gateway address is where the egress proxy listens, and host firewall rules so that from
// its subnet only the proxy port is reachable (HOST.md: an internal network can reach every host port on its
// gateway). Each sandbox on it also loses Docker's embedded DNS (127.0.0.11) inside its own network
// namespace, so it has no resolver at all. Every rule carries a comment naming the network, so it can be
// removed on close and swept after a crash. It must never open anything but the proxy port.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';
import { ownerAlive, ownerLabel } from './owner.ts';

const run = promisify(execFile);
const COMMENT_PREFIX = 'airlock-egress';

export interface EgressNetworkOptions {
  docker: Dockerode;
  /** IPv4 CIDR of the network; Docker picks one when absent. */
  subnet?: string;
}

async function iptables(args: string[], netns?: string): Promise<void> {
  const argv = netns ? [`--net=${netns}`, 'iptables', '-w', ...args] : ['-w', ...args];
  await run(netns ? 'nsenter' : 'iptables', argv, { timeout: 30_000 });
}

export class EgressNetwork {
  readonly name: string;
  readonly id: string;
  /** The host's address on the network: where the proxy listens. */
  readonly gateway: string;
  readonly subnet: string;
  readonly #docker: Dockerode;
  readonly #rules: string[][] = [];
  #closed = false;

  private constructor(docker: Dockerode, name: string, id: string, gateway: string, subnet: string) {
    this.#docker = docker;
    this.name = name;
    this.id = id;
    this.gateway = gateway;
    this.subnet = subnet;
  }

  get comment(): string {
    return `${COMMENT_PREFIX} ${this.name}`;
  }

  static async create(options: EgressNetworkOptions): Promise<EgressNetwork> {
    const name = `airlock-egress-${randomBytes(4).toString('hex')}`;
    const network = await options.docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      EnableIPv6: false,
      CheckDuplicate: true,
      Labels: { airlock: '1', 'airlock.egress': '1', 'airlock.owner': ownerLabel() },
      Options: { 'com.docker.network.bridge.enable_icc': 'false' },
      ...(options.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: options.subnet }] } } : {}),
    });
    try {
      const info = (await network.inspect()) as {
        Id: string;
        IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> };
      };
      const config = info.IPAM?.Config?.[0];
      if (!config?.Subnet || !config.Gateway)
        throw new Error(`network ${name} has no IPv4 subnet or gateway`);
      return new EgressNetwork(
        options.docker,
        name,
        info.Id,
        config.Gateway.split('/')[0] as string,
        config.Subnet,
      );
    } catch (error) {
      await network.remove().catch(() => {});
      throw error;
    }
  }

  /**
   * Lets the subnet reach only `gateway:proxyPort` on this host: a DROP for the subnet, then an ACCEPT for
   * the proxy port inserted above it, and an ACCEPT for the host's own loopback traffic from the gateway.
   */
  async firewall(proxyPort: number): Promise<void> {
    const comment = ['-m', 'comment', '--comment', this.comment];
    const drop = ['INPUT', '-s', this.subnet, ...comment, '-j', 'DROP'];
    const accept = [
      'INPUT',
      '-s',
      this.subnet,
      '-d',
      this.gateway,
      '-p',
      'tcp',
      '--dport',
      String(proxyPort),
      ...comment,
      '-j',
      'ACCEPT',
    ];
    // The host's own connections to the gateway address (the isolate host's guest fetch) run over
    // loopback, and their replies come from the gateway address too: accept those; sandboxes never use lo.
    const hostLocal = ['INPUT', '-i', 'lo', '-s', this.subnet, ...comment, '-j', 'ACCEPT'];
    for (const rule of [drop, accept, hostLocal]) {
      await iptables(['-I', ...rule]);
      this.#rules.push(rule);
    }
  }

  /** Removes Docker's embedded resolver from a started container's network namespace. */
  async sealDns(containerId: string): Promise<void> {
    const info = await this.#docker.getContainer(containerId).inspect();
    const netns = info.NetworkSettings?.SandboxKey;
    if (!netns) throw new Error(`container ${containerId.slice(0, 12)} has no network namespace`);
    await iptables(['-I', 'OUTPUT', '-d', '127.0.0.11', '-j', 'DROP'], netns);
  }

  /** Removes the firewall rules and the network (its containers must be gone). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const rule of this.#rules.splice(0).reverse()) {
      await iptables(['-D', ...rule]).catch(() => {});
    }
    await removeNetwork(this.#docker, this.id);
  }
}

async function removeNetwork(docker: Dockerode, id: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await docker.getNetwork(id).remove();
      return;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) return;
      // 403/409: containers still attached while their removal finishes.
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The INPUT rules carrying an egress comment (`iptables -S` lines), for sweeps and tests. */
export async function egressFirewallRules(name?: string): Promise<string[]> {
  const { stdout } = await run('iptables', ['-w', '-S', 'INPUT'], { timeout: 30_000 });
  const tag = name ? `${COMMENT_PREFIX} ${name}` : COMMENT_PREFIX;
  return stdout.split('\n').filter((line) => line.includes(`--comment "${tag}`));
}

/**
 * Removes what a service that died left of its egress network: its airlock containers, its firewall rules
 * and the network itself. Only networks labelled `airlock.egress=1` whose owner process is gone are touched.
 */
export async function sweepEgressLeftovers(docker: Dockerode): Promise<number> {
  const networks = await docker.listNetworks({ filters: { label: ['airlock=1', 'airlock.egress=1'] } });
  let swept = 0;
  for (const info of networks) {
    if (ownerAlive(info.Labels?.['airlock.owner'])) continue;
    const attached = await docker.listContainers({
      all: true,
      filters: { label: ['airlock=1'], network: [info.Id] },
    });
    await Promise.allSettled(attached.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
    for (const line of await egressFirewallRules(info.Name)) {
      const spec = line.replace(/^-A /, '').match(/"[^"]*"|\S+/g) ?? [];
      await iptables(['-D', ...spec.map((part) => part.replace(/^"(.*)"$/, '$1'))]).catch(() => {});
    }
    await removeNetwork(docker, info.Id);
    swept++;
  }
  return swept;
}
