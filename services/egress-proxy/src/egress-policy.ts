// The policy of one run: the request's allow rules (hosts exact or `*.` one wildcard, ports, optional methods)
// narrowed by the server's deny list and port ceiling. Deny wins; anything not allowed is refused.
// It must never widen what a rule says: a wildcard never matches its own suffix, a rule with methods never
// admits a CONNECT tunnel (the proxy cannot see methods inside TLS), an IP literal matches only itself.

import type { EgressTarget } from './target.ts';

export interface EgressAllow {
  /** Canonical host or `*.domain`. */
  host: string;
  /** @default [80, 443] */
  ports?: readonly number[] | undefined;
  /** Upper-case methods; absent means any method (and tunnels). */
  methods?: readonly string[] | undefined;
}

export interface ServerEgressPolicy {
  /** Canonical hosts or `*.domain` patterns no run may reach (a pattern here also denies its suffix). */
  denyHosts: readonly string[];
  /** Ports any run may reach at most; `any` lifts the ceiling. */
  ports: readonly number[] | 'any';
}

export const DEFAULT_PORTS: readonly number[] = [80, 443];

export type PolicyDecision = { ok: true } | { ok: false; reason: string };

function ruleMatches(pattern: string, target: EgressTarget): boolean {
  if (!pattern.startsWith('*.')) return pattern === target.host;
  if (target.literal) return false;
  return target.host.endsWith(pattern.slice(1));
}

function denyMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(2);
  return host === suffix || host.endsWith(`.${suffix}`);
}

export function decideEgress(
  rules: readonly EgressAllow[],
  server: ServerEgressPolicy,
  target: EgressTarget,
  /** The request method, or `CONNECT` for a tunnel. */
  method: string,
  /** Ports opened by an explicit server allowance (admitted past the port ceiling). */
  allowancePorts: readonly number[] = [],
): PolicyDecision {
  if (server.denyHosts.some((pattern) => denyMatches(pattern, target.host))) {
    return { ok: false, reason: `host ${target.host} is denied by the server` };
  }
  if (
    server.ports !== 'any' &&
    !server.ports.includes(target.port) &&
    !allowancePorts.includes(target.port)
  ) {
    return { ok: false, reason: `port ${target.port} is not allowed by the server` };
  }
  const matching = rules.filter((rule) => ruleMatches(rule.host, target));
  if (matching.length === 0)
    return { ok: false, reason: `host ${target.host} is not in the run's allow list` };
  const onPort = matching.filter((rule) => (rule.ports ?? DEFAULT_PORTS).includes(target.port));
  if (onPort.length === 0)
    return { ok: false, reason: `port ${target.port} is not allowed for ${target.host}` };
  const tunnel = method === 'CONNECT';
  const admitted = onPort.some((rule) =>
    rule.methods === undefined ? true : !tunnel && rule.methods.includes(method),
  );
  if (!admitted) {
    return {
      ok: false,
      reason: tunnel
        ? `tunnels to ${target.host} are not allowed: its rule restricts methods`
        : `method ${method} is not allowed for ${target.host}`,
    };
  }
  return { ok: true };
}
