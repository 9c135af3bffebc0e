// Parses the AIRLOCK_* variables once and returns a frozen Config, or throws a ConfigError naming each bad one.

import { dirname, join } from 'node:path';
import { type Config, ConfigSchema } from './schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape).flatMap((name) => {
      const value = env[name];
      return value === undefined || value === '' ? [] : [[name, value]];
    }),
  );
  const parsed = ConfigSchema.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(known[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = {
    ...parsed.data,
    AIRLOCK_DATA_DIR: parsed.data.AIRLOCK_DATA_DIR ?? join(dirname(parsed.data.AIRLOCK_AUDIT_LOG), 'store'),
  };
  const pairs = [
    ['AIRLOCK_DEFAULT_WALL_TIME_MS', 'AIRLOCK_MAX_WALL_TIME_MS'],
    ['AIRLOCK_DEFAULT_CPU_TIME_MS', 'AIRLOCK_MAX_CPU_TIME_MS'],
    ['AIRLOCK_DEFAULT_MEMORY_MB', 'AIRLOCK_MAX_MEMORY_MB'],
    ['AIRLOCK_DEFAULT_OUTPUT_BYTES', 'AIRLOCK_MAX_OUTPUT_BYTES'],
    ['AIRLOCK_DEFAULT_COMPILE_WALL_TIME_MS', 'AIRLOCK_MAX_COMPILE_WALL_TIME_MS'],
  ] as const;
  for (const [def, max] of pairs) {
    if (config[def] > config[max])
      throw new ConfigError(`invalid configuration: ${def}=${config[def]} is above ${max}=${config[max]}`);
  }
  if (config.AIRLOCK_JWKS_FILE && config.AIRLOCK_JWKS_URL) {
    throw new ConfigError('invalid configuration: set AIRLOCK_JWKS_FILE or AIRLOCK_JWKS_URL, not both');
  }
  if (config.AIRLOCK_JWKS_FILE || config.AIRLOCK_JWKS_URL) {
    if (!config.AIRLOCK_TOKEN_ISSUERS?.length)
      throw new ConfigError(
        'invalid configuration: AIRLOCK_TOKEN_ISSUERS is required when token keys are configured',
      );
    if (!config.AIRLOCK_TENANT_POLICY_FILE)
      throw new ConfigError(
        'invalid configuration: AIRLOCK_TENANT_POLICY_FILE is required when token keys are configured',
      );
  }
  return Object.freeze(config);
}
