// The `airlock` command's connection settings, parsed once from the environment (and --url) by main.ts: where
// Airlock is (AIRLOCK_URL) and the intent token to present (AIRLOCK_TOKEN). Errors name the variable and what
// was expected, never the token's value.

import { z } from 'zod';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

const Url = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const Token = z
  .string()
  .regex(/^[\x21-\x7e]+$/, 'must be a token of visible ASCII characters, without spaces');

export interface Connection {
  url: string;
  token: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The connection from AIRLOCK_URL and AIRLOCK_TOKEN (empty counts as unset); `url` (from --url) wins. */
export function parseConnection(env: Record<string, string | undefined>, url?: string): Connection {
  const rawUrl = url ?? (env.AIRLOCK_URL || undefined) ?? DEFAULT_URL;
  const parsedUrl = Url.safeParse(rawUrl);
  if (!parsedUrl.success) {
    const name = url === undefined ? 'AIRLOCK_URL' : '--url';
    throw new ConfigError(`${name} ${parsedUrl.error.issues[0]?.message} (got ${JSON.stringify(rawUrl)})`);
  }
  const rawToken = env.AIRLOCK_TOKEN || undefined;
  if (rawToken !== undefined) {
    const parsedToken = Token.safeParse(rawToken);
    if (!parsedToken.success) throw new ConfigError(`AIRLOCK_TOKEN ${parsedToken.error.issues[0]?.message}`);
  }
  return { url: parsedUrl.data, token: rawToken };
}
