// The service logger: pino with redaction of every place a secret could appear (auth headers, tokens,
// credentials, env values). Never log request bodies: they carry guest code and may carry secrets. Lines go
// to a LogOutput (stdout) unless the caller gives another destination, never to pino's default stream.

import { type DestinationStream, type Logger, pino } from 'pino';
import { LogOutput } from './log-output.ts';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'authorization',
  'token',
  'secret',
  'password',
  'credential',
  'env',
  '*.token',
  '*.secret',
  '*.password',
  '*.credential',
  '*.env',
  '*.authorization',
] as const;

export interface LoggerOptions {
  level: string;
  /** Where lines go. @default a new LogOutput on stdout */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      base: { service: 'airlock' },
    },
    options.destination ?? new LogOutput(),
  );
}

export type { Logger };

/**
 * The log of a service process: its logger on its own LogOutput (which the process flushes before it exits),
 * with lines marked by `role` when the process is one role of several (worker, egress proxy).
 */
export function serviceLog(level: string, role?: string): { logger: Logger; output: LogOutput } {
  const output = new LogOutput();
  const logger = createLogger({ level, destination: output });
  return { output, logger: role === undefined ? logger : logger.child({ role }) };
}
