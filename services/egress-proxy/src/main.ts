// The proxy on its own (scaled-out deployments): parse config once, listen on AIRLOCK_EGRESS_PROXY_HOST and
// AIRLOCK_EGRESS_PROXY_PORT, stop cleanly on SIGINT/SIGTERM. The only place in this package that reads
// process.env. Runs are opened by an in-process EgressBroker; a remote run-registration API for workers in
// other processes is not built yet, so on its own the proxy answers 407 to everything.

import { loadConfigOrExit, stopOnSignals } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { EgressProxy } from './egress-proxy.ts';
import { proxyOptionsFromConfig } from './egress-setup.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env, 'airlock-egress-proxy');
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
  const proxy = await EgressProxy.start({
    ...(await proxyOptionsFromConfig(config, process.env)),
    host: config.AIRLOCK_EGRESS_PROXY_HOST,
    port: config.AIRLOCK_EGRESS_PROXY_PORT,
    logger,
  });
  logger.info({ address: proxy.address }, 'egress proxy listening');
  stopOnSignals(logger, 'egress proxy shutting down', () => proxy.close());
}

await main();
