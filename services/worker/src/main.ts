// Entry point of a worker process (scaled out on NATS): parse config once, start the worker on the process's
// cleanup stack, log that it is ready, and on SIGTERM/SIGINT stop taking jobs, let running ones finish
// (AIRLOCK_SHUTDOWN_GRACE_MS), release everything and exit 0. The only place in the worker that reads process.env.

import { AuditLockError } from '@airlock/audit';
import { loadConfigOrExit, runService } from '@airlock/config';
import { serviceLog } from '@airlock/logging';
import { startSessionHost } from '@airlock/sessions';
import { WorkerEgressError } from './worker-egress.ts';
import { startWorker } from './worker-service.ts';

const config = loadConfigOrExit(process.env, 'airlock-worker');
const { logger, output } = serviceLog(config.AIRLOCK_LOG_LEVEL, 'worker');

await runService(
  {
    logger,
    output,
    stopMessage: 'worker shutting down: finishing running jobs',
    refusal: (error) =>
      error instanceof AuditLockError || error instanceof WorkerEgressError ? error.message : undefined,
  },
  async (stack) => {
    const worker = await startWorker(config, logger, {
      secretsEnv: process.env,
      // Sessions live on workers in NATS mode: the embedded mode's sessions, answering the gateways' calls.
      sessionHost: (parts) => startSessionHost({ config, logger, ...parts }),
    });
    stack.defer(() => worker.close());
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
  },
);
