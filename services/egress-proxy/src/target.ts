// Where a proxied request wants to go: the authority of a CONNECT line or of an absolute-form http:// URL,
// canonicalised (lower case, IDNA to punycode, no trailing dot, every IPv4 spelling — decimal, octal, hex,
// short forms — turned into its dotted quad by the WHATWG URL parser). It must never accept user-info,
// percent-encoded or otherwise ambiguous hosts, IPv6 without brackets, or a port outside 1..65535.

import { isIPv4, isIPv6 } from 'node:net';

export interface EgressTarget {
  /** Canonical host name, dotted IPv4, or IPv6 without brackets. */
  host: string;
  /** True when `host` is an IP literal (no resolution happens). */
  literal: boolean;
  port: number;
}

export type TargetParse = { ok: true; target: EgressTarget } | { ok: false; reason: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Anything that makes an authority mean different things to different parsers.
const AMBIGUOUS = /[\s\u0000-\u001f\u007f@/\\?#%]/u;

const refuse = (reason: string) => ({ ok: false, reason }) as const;

/** Splits `host:port` / `[v6]:port`; the port is required when `defaultPort` is undefined. */
export function parseAuthority(authority: string, defaultPort?: number): TargetParse {
  if (authority.length === 0 || authority.length > 260) return refuse('invalid target: empty or too long');
  if (AMBIGUOUS.test(authority)) return refuse('invalid target: user-info or ambiguous characters');
  let hostPart: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return refuse('invalid target: unterminated IPv6 literal');
    hostPart = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return refuse('invalid target: junk after IPv6 literal');
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colons = authority.split(':').length - 1;
    if (colons > 1) return refuse('invalid target: IPv6 literal without brackets');
    const at = authority.indexOf(':');
    hostPart = at < 0 ? authority : authority.slice(0, at);
    portText = at < 0 ? undefined : authority.slice(at + 1);
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return refuse('invalid target: a port is required');
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return refuse('invalid target: bad port');
    port = Number(portText);
    if (port < 1 || port > 65_535) return refuse('invalid target: port out of range');
  }
  const host = canonicalTargetHost(hostPart);
  if (!host) return refuse('invalid target: not a host name or IP address');
  return { ok: true, target: { ...host, port } };
}

function canonicalTargetHost(raw: string): { host: string; literal: boolean } | undefined {
  let hostname: string;
  try {
    // The URL parser applies IDNA (domainToASCII) and the WHATWG IPv4 number rules.
    hostname = new URL(`http://${raw}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) {
    const v6 = hostname.slice(1, -1);
    return isIPv6(v6) ? { host: v6, literal: true } : undefined;
  }
  if (isIPv4(hostname)) return { host: hostname, literal: true };
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname.length === 0 || hostname.length > 253) return undefined;
  if (!hostname.split('.').every((label) => LABEL.test(label))) return undefined;
  // A name whose last label is all digits is an IPv4 form the parser did not accept (e.g. 1.2.3.256).
  if (/^[0-9]+$/.test(hostname.slice(hostname.lastIndexOf('.') + 1))) return undefined;
  return { host: hostname, literal: false };
}

export interface ForwardTarget extends EgressTarget {
  /** Path and query as sent (origin form), `/` when empty. */
  path: string;
  /** Whether the URL named its port (otherwise the scheme's default was taken). */
  explicitPort: boolean;
}

/** An absolute-form request target (`http://host[:port]/path`); only the http scheme is forwarded. */
export function parseAbsoluteUrl(
  url: string,
): { ok: true; target: ForwardTarget } | { ok: false; reason: string } {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/.exec(url);
  if (!match) return refuse('invalid target: not an absolute http:// URL (use CONNECT for TLS)');
  const [, scheme = '', authority = '', rest = ''] = match;
  if (scheme.toLowerCase() !== 'http')
    return refuse(`invalid target: scheme '${scheme.slice(0, 16)}' is not forwarded; use CONNECT`);
  const parsed = parseAuthority(authority, 80);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const path = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  const explicitPort = /:[0-9]+$/.test(authority);
  return { ok: true, target: { ...parsed.target, path, explicitPort } };
}
