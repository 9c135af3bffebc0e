// Where credential values come from, resolved just-in-time (on each injection, so a rotated file takes effect
// at once) and never cached, logged or put into an error message. Two providers: a directory with one file
// per secret (the way container orchestrators mount them) and an environment map for development.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SecretsProvider {
  /** The secret's value; rejects with a message naming only the secret, never its value. */
  resolve(name: string): Promise<string>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class SecretNotFound extends Error {
  override name = 'SecretNotFound';
  constructor(secret: string) {
    super(`secret '${secret}' is not available`);
  }
}

/** `DIR/NAME` holds the value; one trailing newline is dropped. */
export class FileSecretsProvider implements SecretsProvider {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async resolve(name: string): Promise<string> {
    if (!NAME.test(name) || name.startsWith('.')) throw new SecretNotFound(name);
    let value: string;
    try {
      value = await readFile(join(this.#dir, name), 'utf8');
    } catch {
      throw new SecretNotFound(name);
    }
    value = value.endsWith('\r\n') ? value.slice(0, -2) : value.endsWith('\n') ? value.slice(0, -1) : value;
    if (value.length === 0) throw new SecretNotFound(name);
    return value;
  }
}

/**
 * Development only: `AIRLOCK_SECRET_<NAME>` (upper case, `.`/`-` as `_`) from an environment map the service's
 * main.ts passes in; no library reads process.env.
 */
export class EnvSecretsProvider implements SecretsProvider {
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    this.#env = env;
  }

  async resolve(name: string): Promise<string> {
    const value = NAME.test(name) ? this.#env[envSecretName(name)] : undefined;
    if (value === undefined || value.length === 0) throw new SecretNotFound(name);
    return value;
  }
}

export function envSecretName(name: string): string {
  return `AIRLOCK_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
