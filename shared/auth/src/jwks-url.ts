// A key source backed by a JWKS URL, through jose's createRemoteJWKSet: the set is cached, fetched again
// when it grows old, and re-fetched on an unknown kid at most once per cooldown. Must never fetch keys over
// plain http from a non-loopback host unless the operator opted in, and never follow redirects (jose does not).

import { isIP } from 'node:net';
import { AirlockError } from '@airlock/protocol';
import { createRemoteJWKSet } from 'jose';
import { AuthConfigError } from './config-error.ts';
import { joseCode, type KeySource, NO_MATCHING_KEY, unknownKid } from './key-source.ts';

export interface JwksUrlKeySourceOptions {
  url: string | URL;
  /** Least time between two fetches triggered by an unknown kid. @default 30 */
  cooldownSeconds?: number;
  /** How long a fetched key set is used before it is fetched again. @default 600 */
  cacheMaxAgeSeconds?: number;
  /** How long one fetch may take. @default 5000 */
  timeoutMs?: number;
  /** Allow plain http to a host that is not loopback. @default false */
  allowInsecureHttp?: boolean;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function checkedUrl(options: JwksUrlKeySourceOptions): URL {
  const text = String(options.url);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AuthConfigError('jwks url', 'url', 'is not a valid URL');
  }
  if (url.username || url.password)
    throw new AuthConfigError(url.origin, 'url', 'must not carry credentials');
  const secure = url.protocol === 'https:';
  const plainAllowed =
    url.protocol === 'http:' && (options.allowInsecureHttp === true || isLoopback(url.hostname));
  if (!secure && !plainAllowed) {
    throw new AuthConfigError(url.origin, 'url', 'must be https (plain http only to a loopback host)');
  }
  return url;
}

/** Creates the source; nothing is fetched until the first token is verified. */
export function jwksUrlKeySource(options: JwksUrlKeySourceOptions): KeySource {
  const url = checkedUrl(options);
  const remote = createRemoteJWKSet(url, {
    cooldownDuration: (options.cooldownSeconds ?? 30) * 1000,
    cacheMaxAge: (options.cacheMaxAgeSeconds ?? 600) * 1000,
    timeoutDuration: options.timeoutMs ?? 5000,
  });
  return {
    async key(header) {
      try {
        return await remote(header);
      } catch (error) {
        if (joseCode(error) === NO_MATCHING_KEY) throw unknownKid(header);
        if (joseCode(error) === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
          throw new AirlockError('unauthorized', 'the issuer key set holds several keys for this kid');
        }
        throw new AirlockError('unauthorized', `the issuer key set could not be fetched from ${url.origin}`);
      }
    },
  };
}
