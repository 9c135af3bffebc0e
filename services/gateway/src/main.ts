// Entry point of the embedded service: parse config once, build everything, listen, and shut down cleanly on
// SIGINT/SIGTERM. The only place that reads process.env.

import { CorruptAuditLogError } from '@airlock/audit';
import { loadConfigOrExit, stopOnSignals } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { startEmbedded } from './embedded.ts';
import { startScaled } from './scaled.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, 'airlock');
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
  const starting =
    config.AIRLOCK_QUEUE === 'nats'
      ? startScaled(config, logger)
      : startEmbedded(config, logger, { secretsEnv: process.env });
  const service = await starting.catch((error: unknown) => {
    // A torn or corrupt audit log: the message names the command that checks or repairs it.
    if (!(error instanceof CorruptAuditLogError)) throw error;
    logger.fatal({ audit: error.path, line: error.line }, error.message);
    process.exit(2);
  });
  const address = await service.app.listen({ host: config.AIRLOCK_HOST, port: config.AIRLOCK_PORT });
  logger.info({ address, audit: config.AIRLOCK_AUDIT_LOG }, 'airlock listening');

  stopOnSignals(logger, 'shutting down', () => service.close());
}

await main();
