// Egress host patterns' coverage: does this allowed pattern include that one. Both sides are canonical
// (@airlock/protocol's canonicalEgressHost, the one rule for requests, policies, tokens and the proxy). Must
// never let a pattern cover more than the names below its suffix; when in doubt a host is refused, never widened.

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
