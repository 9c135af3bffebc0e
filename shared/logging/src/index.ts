export { LogOutput, type LogOutputOptions } from './log-output.ts';
export { createLogger, type Logger, type LoggerOptions, REDACTED_PATHS, serviceLog } from './logger.ts';
