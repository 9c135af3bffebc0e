// What a service process may leave behind, looked up for real: its Docker containers and networks (by the
// `airlock.owner` label), the firewall rules of an egress network, processes (children of a process, or
// members of a process group, read from /proc), an audit log's lock file, and the client connections a
// nats-server still has (its monitoring endpoint on loopback). Never removes anything: a leftover is a
// failure to report, not to hide.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { egressFirewallRules } from '@airlock/sandbox';

/** The `airlock.owner` label value of a service process on this host. */
export const ownerOf = (pid: number): string => `${hostname()}:${pid}`;

/** Containers (`id state`) and networks (names) labelled `airlock.owner=<owner>`. */
export function dockerObjectsOf(owner: string): { containers: string[]; networks: string[] } {
  const filter = `label=airlock.owner=${owner}`;
  const lines = (args: string[]) =>
    execFileSync('docker', args, { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.length > 0);
  return {
    containers: lines(['ps', '-a', '--no-trunc', '--filter', filter, '--format', '{{.ID}} {{.State}}']),
    networks: lines(['network', 'ls', '--filter', filter, '--format', '{{.Name}}']),
  };
}

/** Names of the egress networks a service logged as created (`egress proxy listening on the egress network`). */
export function egressNetworksIn(logText: string): string[] {
  return [...logText.matchAll(/"network":"(airlock-egress-[0-9a-f]+)"/g)].map((m) => m[1]!);
}

/** The INPUT rules still carrying the `airlock-egress <network>` comment of any of `networks`. */
export async function firewallRulesOf(networks: readonly string[]): Promise<string[]> {
  const rules = await Promise.all(networks.map((name) => egressFirewallRules(name)));
  return rules.flat();
}

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  command: string;
}

function processes(): ProcStat[] {
  const found: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (fields[2] === undefined) continue;
    let command = stat.slice(stat.indexOf('(') + 1, close);
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() || command;
    } catch {
      // gone meanwhile: keep the short name
    }
    found.push({ pid: Number(entry), ppid: Number(fields[1]), pgrp: Number(fields[2]), command });
  }
  return found;
}

/** `pid command` of every live child of `pid` (zombies included: a child not reaped is left over too). */
export function childrenOf(pid: number): string[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => `${p.pid} ${p.command}`);
}

/** `pid command` of every process in process group `pgid`. */
export function processGroup(pgid: number): string[] {
  return processes()
    .filter((p) => p.pgrp === pgid)
    .map((p) => `${p.pid} ${p.command}`);
}

/** Whether the audit log's lock file (`<log>.lock`) is there. */
export const auditLockHeld = (auditPath: string): boolean => existsSync(`${auditPath}.lock`);

/** Client connections a nats-server with monitoring on `monitorPort` (`-m PORT`) holds, by client name. */
export async function natsClients(monitorPort: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
  const body = (await response.json()) as { connections?: Array<{ name?: string }> };
  return (body.connections ?? []).map((c) => c.name ?? '');
}
