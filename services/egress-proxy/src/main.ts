// The egress proxy on its own: one per Docker host, for workers started with AIRLOCK_EGRESS=remote (issue #4,
// scaled out on NATS). Parses config once, creates this host's egress network, firewall and proxy (on the
// network's gateway, AIRLOCK_EGRESS_PROXY_PORT), offers run control over NATS (AIRLOCK_NATS_URL) on
// `airlock.egress.<AIRLOCK_EGRESS_PROXY_ID>.{open,close,info}`, and on SIGINT/SIGTERM closes every run and
// removes what it created. Only the NATS server's permissions protect those subjects. The only place in this
// package that reads process.env.

import { loadConfigOrExit, stopOnSignals } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { startStandaloneEgress } from './standalone-egress.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, 'airlock-egress-proxy');
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL }).child({ role: 'egress-proxy' });
  let egress: Awaited<ReturnType<typeof startStandaloneEgress>>;
  try {
    egress = await startStandaloneEgress(config, logger, process.env);
  } catch (error) {
    logger.fatal(
      `egress proxy could not start (needs dockerd, iptables, nsenter and nats-server): ${(error as Error).message}`,
    );
    process.exit(2);
  }
  logger.info(
    {
      proxy_id: egress.proxyId,
      nats: config.AIRLOCK_NATS_URL,
      network: egress.info.network,
      proxy: `${egress.info.proxy.host}:${egress.info.proxy.port}`,
    },
    'airlock egress proxy ready',
  );
  stopOnSignals(logger, 'egress proxy shutting down', () => egress.close());
}

await main();
