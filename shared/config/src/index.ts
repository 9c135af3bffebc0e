export { ConfigError, loadConfig } from './load.ts';
export { loadConfigOrExit, type StopLogger, stopOnSignals } from './process-lifecycle.ts';
export { type Config, ConfigSchema } from './schema.ts';
