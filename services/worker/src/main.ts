// Entry point of a worker process (scaled out on NATS): parse config once, start the worker, log that it is
// ready, and on SIGTERM/SIGINT stop taking jobs, let running ones finish (AIRLOCK_SHUTDOWN_GRACE_MS) and exit 0.
// The only place in the worker that reads process.env.

import { ConfigError, loadConfig } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { AuditLockError } from './audit-lock.ts';
import { WorkerEgressError } from './worker-egress.ts';
import { startWorker } from './worker-service.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`airlock-worker: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL }).child({ role: 'worker' });
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker(config, logger, { secretsEnv: process.env });
  } catch (error) {
    if (error instanceof AuditLockError || error instanceof WorkerEgressError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  logger.info(
    {
      worker: worker.instanceId,
      nats: config.AIRLOCK_NATS_URL,
      concurrency: config.AIRLOCK_CONCURRENCY,
      backends: worker.registry
        .runtimes()
        .filter((r) => r.available)
        .map((r) => `${r.language}/${r.backend}`),
      audit: config.AIRLOCK_AUDIT_LOG,
      egress: worker.egress
        ? `${worker.egress.network.gateway}:${worker.egress.proxy.address.port} on ${worker.egress.network.name}`
        : 'off',
    },
    'airlock worker ready',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing running jobs');
    worker.close().then(
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
