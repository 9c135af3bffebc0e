// Egress host names and patterns: canonical form and coverage ("does this allowed pattern include that one").
// Must never accept a pattern broader than one label of wildcard, IPv6 literals, ports, or anything with a
// user-info, path or query part; when in doubt a host is refused, never widened.

const FORBIDDEN = /[\s/\\@:?#[\]%*]/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The canonical form of a host name (lower case, IDN as punycode, no trailing dot, IPv4 shorthands such as
 * `0x7f.1` expanded), or undefined when it is not a plain host name.
 */
export function canonicalHost(host: string): string | undefined {
  if (host.length === 0 || host.length > 253 || FORBIDDEN.test(host)) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname.length === 0 || hostname.length > 253) return undefined;
  return hostname.split('.').every((label) => LABEL.test(label)) ? hostname : undefined;
}

/** A host or `*.suffix` (any name below suffix, not suffix itself), canonical; undefined when invalid. */
export function canonicalHostPattern(pattern: string): string | undefined {
  if (pattern.startsWith('*.')) {
    const suffix = canonicalHost(pattern.slice(2));
    // A wildcard over a bare top-level label (`*.com`) is too broad to be meant.
    return suffix?.includes('.') ? `*.${suffix}` : undefined;
  }
  return canonicalHost(pattern);
}

/** True when every host matched by `requested` is also matched by `allowed` (both canonical). */
export function hostPatternCovers(allowed: string, requested: string): boolean {
  if (!allowed.startsWith('*.')) return allowed === requested;
  const suffix = allowed.slice(2);
  const requestedName = requested.startsWith('*.') ? requested.slice(2) : requested;
  if (requested.startsWith('*.') && requestedName === suffix) return true;
  return requestedName.endsWith(`.${suffix}`);
}

/** True when some pattern in `allowed` covers `requested`. */
export function hostAllowed(allowed: readonly string[], requested: string): boolean {
  return allowed.some((pattern) => hostPatternCovers(pattern, requested));
}
