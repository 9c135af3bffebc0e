// Where a callback may go: a request's `callback.url` (or a tenant subscription's) parsed and checked before it
// is accepted, with the egress proxy's rules — its host canonicalisation (every IPv4 spelling: decimal, octal,
// hex, short forms) and its address check (loopback, private, link-local, metadata, CGNAT, IPv4-mapped IPv6 …
// refused unless an operator allowance names the address and port). Must never accept user-info, a scheme
// other than https (http only for an allowed address:port), or a name that can only mean this machine.
// A name's addresses are checked again at delivery, after its one resolution (see delivery-attempt.ts).

import { type AddressCheck, parseAuthority } from '@airlock/egress-proxy';

export interface CallbackTarget {
  scheme: 'https' | 'http';
  /** Canonical host name, dotted IPv4, or IPv6 without brackets. */
  host: string;
  /** True when `host` is an IP literal (nothing is resolved at delivery). */
  literal: boolean;
  port: number;
  /** Path and query, `/` when empty; the fragment is dropped. */
  path: string;
}

export type CallbackCheck = { ok: true; target: CallbackTarget } | { ok: false; reason: string };

const refuse = (reason: string): CallbackCheck => ({ ok: false, reason });
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/;
// Characters some URL parsers strip or reinterpret: what is checked and what is dialled must be the same.
const AMBIGUOUS = /[\s\u0000-\u001f\u007f\\]/u;

/** The target of a callback URL, or why Airlock will not deliver to it. */
export function checkCallbackUrl(raw: string, addresses: AddressCheck): CallbackCheck {
  if (AMBIGUOUS.test(raw)) return refuse('the URL contains whitespace, control characters or backslashes');
  const match = URL_SHAPE.exec(raw);
  if (!match) return refuse('not an absolute https:// URL');
  const [, schemeText = '', authority = '', rest = ''] = match;
  const scheme = schemeText.toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return refuse(`scheme '${scheme.slice(0, 16)}' is not https`);
  if (authority.includes('@')) return refuse('user-info (user:password@) is not allowed in a callback URL');
  const parsed = parseAuthority(authority, scheme === 'https' ? 443 : 80);
  if (!parsed.ok) return refuse(parsed.reason.replace(/^invalid target: /, ''));
  const { host, literal, port } = parsed.target;
  if (literal) {
    const verdict = addresses.check(host, port);
    if (!verdict.ok) return refuse(verdict.reason);
    if (scheme === 'http' && !verdict.allowance)
      return refuse('plain http is accepted only for an address:port in AIRLOCK_WEBHOOK_ALLOWANCES');
  } else {
    if (host === 'localhost' || host.endsWith('.localhost')) return refuse(`host '${host}' is this machine`);
    if (scheme === 'http')
      return refuse('plain http is accepted only for an address:port in AIRLOCK_WEBHOOK_ALLOWANCES');
  }
  const path = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  return { ok: true, target: { scheme, host, literal, port, path } };
}

/** The URL as shown in a delivery log: scheme, host, port and path, without the query (it may hold a token). */
export function displayUrl(target: CallbackTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const path = target.path.split('?')[0] ?? '/';
  return `${target.scheme}://${host}:${target.port}${path}`;
}
