// Entry point of the embedded service: parse config once, build everything, listen, and shut down cleanly on
// SIGINT/SIGTERM. The only place that reads process.env.

import { ConfigError, loadConfig } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { startEmbedded } from './embedded.ts';
import { startScaled } from './scaled.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`airlock: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
  const tokens = Boolean(config.AIRLOCK_JWKS_FILE || config.AIRLOCK_JWKS_URL);
  if (!tokens && !LOOPBACK.has(config.AIRLOCK_HOST)) {
    logger.fatal(
      { host: config.AIRLOCK_HOST },
      'refusing to bind a non-loopback address without authorization configured',
    );
    process.exit(2);
  }
  if (tokens) {
    logger.info(
      { issuers: config.AIRLOCK_TOKEN_ISSUERS, audience: config.AIRLOCK_TOKEN_AUDIENCE },
      'intent tokens required',
    );
  } else {
    logger.warn(
      'LOCAL DEVELOPMENT MODE: no intent-token keys configured; every request runs as tenant "local"',
    );
  }
  // AIRLOCK_QUEUE=nats: no local workers; services/worker processes run the jobs (see scaled.ts).
  const service =
    config.AIRLOCK_QUEUE === 'nats'
      ? await startScaled(config, logger)
      : await startEmbedded(config, logger, { secretsEnv: process.env });
  const address = await service.app.listen({ host: config.AIRLOCK_HOST, port: config.AIRLOCK_PORT });
  logger.info({ address, audit: config.AIRLOCK_AUDIT_LOG }, 'airlock listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.close().then(
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

await main();
