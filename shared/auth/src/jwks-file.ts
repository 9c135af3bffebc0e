// A key source backed by a JWKS file on disk. The file is read and checked once when the source is created
// (so a bad file stops start-up with its path and field), then re-read when a token names an unknown kid, at
// most once per refresh interval. Must never trust a re-read file that fails the checks: the last good set
// stays in use.

import { readFile } from 'node:fs/promises';
import { createLocalJWKSet } from 'jose';
import { AuthConfigError } from './config-error.ts';
import { checkPublicJwks } from './jwks.ts';
import { type KeySource, lookUp, unknownKid } from './key-source.ts';

export interface JwksFileKeySourceOptions {
  path: string;
  /** Least time between two re-reads triggered by an unknown kid. @default 30 */
  refreshIntervalSeconds?: number;
  /** Told when a re-read fails (the previous key set stays in use). */
  onReloadError?: (error: Error) => void;
  /** Clock in milliseconds. @default Date.now */
  now?: () => number;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

async function readKeySet(path: string): Promise<LocalSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new AuthConfigError(path, '', `cannot read the JWKS file (${(cause as Error).message})`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AuthConfigError(path, '', 'is not valid JSON', { cause });
  }
  return createLocalJWKSet(await checkPublicJwks(json, path));
}

/** Reads and checks the file now; throws AuthConfigError naming the file and field. */
export async function jwksFileKeySource(options: JwksFileKeySourceOptions): Promise<KeySource> {
  const intervalMs = (options.refreshIntervalSeconds ?? 30) * 1000;
  if (!(intervalMs >= 0)) throw new RangeError('refreshIntervalSeconds must be a number >= 0');
  const now = options.now ?? Date.now;
  let current = await readKeySet(options.path);
  let readAt = now();
  let pending: Promise<void> | undefined;

  const reload = (): Promise<void> => {
    pending ??= readKeySet(options.path)
      .then(
        (set) => {
          current = set;
        },
        (error: Error) => options.onReloadError?.(error),
      )
      .finally(() => {
        readAt = now();
        pending = undefined;
      });
    return pending;
  };

  return {
    async key(header) {
      const found = await lookUp(current, header);
      if (found !== undefined) return found;
      if (pending === undefined && now() - readAt < intervalMs) throw unknownKid(header);
      await reload();
      const refreshed = await lookUp(current, header);
      if (refreshed === undefined) throw unknownKid(header);
      return refreshed;
    },
  };
}
