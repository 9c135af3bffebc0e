// The two things every service entry point (gateway, worker, egress proxy) does around its own work: parse the
// configuration once or exit 2 with the reason, and stop once, cleanly, on SIGINT/SIGTERM.

import { ConfigError, loadConfig } from './load.ts';
import type { Config } from './schema.ts';

/** The parsed configuration; on a ConfigError writes `<program>: <reason>` to stderr and exits 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv, program: string): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${program}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

export interface StopLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** On the first SIGINT or SIGTERM: logs `message`, runs close() once, then exits 0 (1 if close failed). */
export function stopOnSignals(logger: StopLogger, message: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, message);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
