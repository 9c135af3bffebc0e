export { ConfigError, loadConfig } from './load.ts';
export {
  type LogFlush,
  loadConfigOrExit,
  runService,
  type ServiceLogger,
  type ServiceRun,
  startCause,
} from './process-lifecycle.ts';
export { type Config, ConfigSchema } from './schema.ts';
