// The proxy on its own (scaled-out deployments): parse config once, listen on AIRLOCK_EGRESS_PROXY_HOST and
// AIRLOCK_EGRESS_PROXY_PORT, stop cleanly on SIGINT/SIGTERM. The only place in this package that reads
// process.env. Runs are opened by an in-process EgressBroker; a remote run-registration API for workers in
// other processes is not built yet, so on its own the proxy answers 407 to everything.

import { ConfigError, loadConfig } from '@airlock/config';
import { createLogger } from '@airlock/logging';
import { EgressProxy } from './egress-proxy.ts';
import { proxyOptionsFromConfig } from './egress-setup.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`airlock-egress-proxy: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.AIRLOCK_LOG_LEVEL });
  const proxy = await EgressProxy.start({
    ...(await proxyOptionsFromConfig(config, process.env)),
    host: config.AIRLOCK_EGRESS_PROXY_HOST,
    port: config.AIRLOCK_EGRESS_PROXY_PORT,
    logger,
  });
  logger.info({ address: proxy.address }, 'egress proxy listening');
  const stop = (signal: string) => {
    logger.info({ signal }, 'egress proxy shutting down');
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

await main();
