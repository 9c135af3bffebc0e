// Healthcheck of the image's egress-proxy role: healthy when the proxy answers its run-control `info` subject on
// NATS with where it listens (AIRLOCK_NATS_URL, AIRLOCK_EGRESS_PROXY_ID). Exits 0 or 1 with the reason.
// It must never open or close a run, and never wait longer than the healthcheck's timeout.

import { loadConfig } from '@airlock/config';
import { egressSubjects, ProxyInfo } from '@airlock/egress-proxy';
import { connect } from '@nats-io/transport-node';

const TIMEOUT_MS = 3_000;

try {
  const config = loadConfig(process.env);
  const nc = await connect({
    servers: config.AIRLOCK_NATS_URL,
    name: 'airlock-healthcheck',
    timeout: TIMEOUT_MS,
    reconnect: false,
  });
  try {
    const reply = await nc.request(egressSubjects(config.AIRLOCK_EGRESS_PROXY_ID).info, '', {
      timeout: TIMEOUT_MS,
    });
    const info = ProxyInfo.parse(reply.json());
    console.log(`egress proxy answers: ${info.network}, ${info.proxy.host}:${info.proxy.port}`);
  } finally {
    await nc.close();
  }
} catch (error) {
  console.error(`egress proxy unhealthy: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
