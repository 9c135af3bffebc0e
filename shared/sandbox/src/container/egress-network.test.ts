// The egress network against the real dockerd and iptables: created internal and labelled, firewalled to the
// proxy port only, and removed with its rules on close; a dead service's leftovers are swept.

import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { EgressNetwork, egressFirewallRules, sweepEgressLeftovers } from './egress-network.ts';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });

describe('EgressNetwork', () => {
  it('creates an internal labelled network, opens only the proxy port, and leaves nothing on close', async () => {
    const network = await EgressNetwork.create({ docker });
    try {
      const info = await docker.getNetwork(network.id).inspect();
      expect(info.Internal).toBe(true);
      expect(info.Labels).toMatchObject({ airlock: '1', 'airlock.egress': '1' });
      expect(info.Options?.['com.docker.network.bridge.enable_icc']).toBe('false');
      expect(network.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      await network.firewall(3128);
      const rules = await egressFirewallRules(network.name);
      expect(rules).toEqual([
        `-A INPUT -s ${network.subnet} -i lo -m comment --comment "airlock-egress ${network.name}" -j ACCEPT`,
        `-A INPUT -s ${network.subnet} -d ${network.gateway}/32 -p tcp -m tcp --dport 3128 -m comment --comment "airlock-egress ${network.name}" -j ACCEPT`,
        `-A INPUT -s ${network.subnet} -m comment --comment "airlock-egress ${network.name}" -j DROP`,
      ]);
    } finally {
      await network.close();
    }
    expect(await egressFirewallRules(network.name)).toEqual([]);
    await expect(docker.getNetwork(network.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);

  it('sweeps the network and rules of a service that is gone, and spares a live one', async () => {
    const name = `airlock-egress-sweeptest${process.pid}`;
    const dead = await docker.createNetwork({
      Name: name,
      Internal: true,
      Labels: { airlock: '1', 'airlock.egress': '1', 'airlock.owner': `${hostname()}:2147483646` },
    });
    const live = await EgressNetwork.create({ docker });
    try {
      const subnet = ((await dead.inspect()) as { IPAM: { Config: Array<{ Subnet: string }> } }).IPAM
        .Config[0]?.Subnet;
      execFileSync('iptables', [
        '-w',
        '-I',
        'INPUT',
        '-s',
        String(subnet),
        '-m',
        'comment',
        '--comment',
        `airlock-egress ${name}`,
        '-j',
        'DROP',
      ]);
      expect(await egressFirewallRules(name)).toHaveLength(1);
      expect(await sweepEgressLeftovers(docker)).toBeGreaterThanOrEqual(1);
      expect(await egressFirewallRules(name)).toEqual([]);
      await expect(dead.inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await docker.getNetwork(live.id).inspect()).Name).toBe(live.name);
    } finally {
      await live.close();
      await dead.remove().catch(() => {});
    }
  }, 60_000);
});
