// Is an address one the proxy may dial? Every address a name resolves to (and every literal) is checked here:
// only public unicast passes — loopback, private, link-local (169.254.169.254), CGNAT, multicast, 0/8,
// 198.18/15, 240/4, documentation ranges, their IPv6 equivalents and every IPv4-embedding IPv6 form
// (::ffff:0:0/96, 64:ff9b::/96, 2002::/16, Teredo, ::/96) are refused, as are the proxy's own addresses.
// An explicit allowance (address + port, from server configuration) is the only way past the check.

import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressAllowance {
  address: string;
  port: number;
}

export type AddressVerdict = { ok: true; allowance: boolean } | { ok: false; reason: string };

/** The canonical text of an IP address (IPv6 compressed, lower case); undefined when it is not one. */
export function canonicalAddress(address: string): string | undefined {
  if (isIPv4(address)) {
    // Node's isIPv4 only accepts dotted-decimal quads; re-serialise to drop any leading zeros.
    return ipaddr.IPv4.isValidFourPartDecimal(address) ? ipaddr.IPv4.parse(address).toString() : undefined;
  }
  if (isIPv6(address)) return ipaddr.IPv6.parse(address).toString();
  return undefined;
}

/** The special-purpose range an address is in, or undefined when it is public unicast. */
export function specialRange(address: string): string | undefined {
  const canonical = canonicalAddress(address);
  if (canonical === undefined) return 'not an IP address';
  const parsed = ipaddr.parse(canonical);
  const range = parsed.range();
  if (parsed.kind() === 'ipv4') return range === 'unicast' ? undefined : `ipv4 ${range}`;
  if (range !== 'unicast') return `ipv6 ${range}`;
  // Global unicast is 2000::/3; anything else unassigned is refused rather than guessed about.
  const first = (parsed as ipaddr.IPv6).parts[0] ?? 0;
  if ((first & 0xe000) !== 0x2000) return 'ipv6 outside global unicast';
  return undefined;
}

export class AddressCheck {
  readonly #allowances: Set<string>;
  readonly #own: Set<string>;

  constructor(options: { allowances?: readonly AddressAllowance[]; ownAddresses?: readonly string[] } = {}) {
    this.#allowances = new Set(
      (options.allowances ?? []).map((a) => `${canonicalAddress(a.address) ?? a.address}|${a.port}`),
    );
    this.#own = new Set(
      (options.ownAddresses ?? [])
        .map((a) => canonicalAddress(a))
        .filter((a): a is string => a !== undefined),
    );
  }

  /** Ports opened by an allowance; the server's port ceiling admits them too. */
  allowancePorts(): number[] {
    return [...this.#allowances].map((key) => Number(key.slice(key.lastIndexOf('|') + 1)));
  }

  check(address: string, port: number): AddressVerdict {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return { ok: false, reason: `resolved to a non-canonical address` };
    if (this.#allowances.has(`${canonical}|${port}`)) return { ok: true, allowance: true };
    if (this.#own.has(canonical)) return { ok: false, reason: `address ${canonical} is the proxy itself` };
    const range = specialRange(canonical);
    if (range) return { ok: false, reason: `address ${canonical} is in a blocked range (${range})` };
    return { ok: true, allowance: false };
  }
}
