export { ConfigError, loadConfig } from './load.ts';
export { type Config, ConfigSchema } from './schema.ts';
