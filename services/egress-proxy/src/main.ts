// The egress proxy on its own: one per Docker host, for workers started with AIRLOCK_EGRESS=remote (scaled out
// on NATS). Parses config once, creates this host's egress network, firewall and proxy (on the network's
// gateway, AIRLOCK_EGRESS_PROXY_PORT) on the process's cleanup stack, offers run control over NATS
// (AIRLOCK_NATS_URL) on `airlock.egress.<AIRLOCK_EGRESS_PROXY_ID>.{open,close,info}`, and on SIGINT/SIGTERM
// closes every run and removes what it created. Only the NATS server's permissions protect those subjects.
// The only place in this package that reads process.env.

import { loadConfigOrExit, runService } from '@airlock/config';
import { serviceLog } from '@airlock/logging';
import { startStandaloneEgress } from './standalone-egress.ts';

const config = loadConfigOrExit(process.env, 'airlock-egress-proxy');
const { logger, output } = serviceLog(config.AIRLOCK_LOG_LEVEL, 'egress-proxy');

await runService(
  {
    logger,
    output,
    stopMessage: 'egress proxy shutting down',
    refusal: (error) =>
      `egress proxy could not start (needs dockerd, iptables, nsenter and nats-server): ${error instanceof Error ? error.message : String(error)}`,
  },
  async (stack) => {
    const egress = await startStandaloneEgress(config, logger, process.env);
    stack.defer(() => egress.close());
    logger.info(
      {
        proxy_id: egress.proxyId,
        nats: config.AIRLOCK_NATS_URL,
        network: egress.info.network,
        proxy: `${egress.info.proxy.host}:${egress.info.proxy.port}`,
      },
      'airlock egress proxy ready',
    );
  },
);
