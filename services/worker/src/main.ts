// Entry point of a worker process (scaled out on NATS): parse config once, start the worker, log that it is
// ready, and on SIGTERM/SIGINT stop taking jobs, let running ones finish (AIRLOCK_SHUTDOWN_GRACE_MS) and exit 0.
// The only place in the worker that reads process.env.

import { loadConfigOrExit, stopOnSignals } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { AuditLockError } from './audit-lock.ts';
import { WorkerEgressError } from './worker-egress.ts';
import { startWorker } from './worker-service.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, 'airlock-worker');
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
      egress: worker.egress ? worker.egress.describe() : 'off',
    },
    'airlock worker ready',
  );

  stopOnSignals(logger, 'worker shutting down: finishing running jobs', () => worker.close());
}

await main();
