// Entry point of the service: parse config once, build everything on the process's cleanup stack, listen, and
// on SIGINT/SIGTERM release it all in reverse order. A start that fails at any step (listening included)
// releases what it had started. The only place that reads process.env.

import { AuditLockError, CorruptAuditLogError } from '@airlock/audit';
import { loadConfigOrExit, runService } from '@airlock/config';
import { serviceLog } from '@airlock/logging';
import { startEmbedded } from './embedded.ts';
import { startScaled } from './scaled.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Refused before anything starts: the operator's to fix (exit 2). */
class StartRefused extends Error {}

const config = loadConfigOrExit(process.env, 'airlock');
const { logger, output } = serviceLog(config.AIRLOCK_LOG_LEVEL);

await runService(
  {
    logger,
    output,
    stopMessage: 'shutting down',
    refusal: (error) =>
      error instanceof StartRefused ||
      error instanceof AuditLockError ||
      // A torn or corrupt audit log: the message names the command that checks or repairs it.
      error instanceof CorruptAuditLogError
        ? error.message
        : undefined,
  },
  async (stack) => {
    const tokens = Boolean(config.AIRLOCK_JWKS_FILE || config.AIRLOCK_JWKS_URL);
    if (!tokens && !LOOPBACK.has(config.AIRLOCK_HOST)) {
      throw new StartRefused(
        `refusing to bind a non-loopback address (${config.AIRLOCK_HOST}) without authorization configured`,
      );
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
    const logWriteErrors = () => output.writeErrors;
    // AIRLOCK_QUEUE=nats: no local workers; services/worker processes run the jobs (see scaled.ts).
    const service =
      config.AIRLOCK_QUEUE === 'nats'
        ? await startScaled(config, logger, { logWriteErrors, secretsEnv: process.env })
        : await startEmbedded(config, logger, { secretsEnv: process.env, logWriteErrors });
    stack.defer(() => service.close());
    const address = await service.app.listen({ host: config.AIRLOCK_HOST, port: config.AIRLOCK_PORT });
    logger.info({ address, audit: config.AIRLOCK_AUDIT_LOG }, 'airlock listening');
  },
);
