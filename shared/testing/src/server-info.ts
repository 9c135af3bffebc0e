// Tells when a NATS server on a loopback port is ready: its INFO line (the first thing it sends to every
// client) and, for JetStream, an answer from the JetStream API. Must never wait without a deadline.

import { connect } from 'node:net';
import { connect as connectNats } from '@nats-io/transport-node';

export interface NatsServerInfo {
  server_id?: string;
  version?: string;
  jetstream?: boolean;
  max_payload?: number;
}

const INFO_TIMEOUT_MS = 2_000;
const MAX_INFO_BYTES = 64 * 1024;

/** The server's INFO, or undefined when nothing answers on the port (yet). */
export function serverInfo(port: number): Promise<NatsServerInfo | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffered = '';
    const done = (info: NatsServerInfo | undefined) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(info);
    };
    const timer = setTimeout(() => done(undefined), INFO_TIMEOUT_MS);
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > MAX_INFO_BYTES) done(undefined);
        return;
      }
      const line = buffered.slice(0, end);
      if (!line.startsWith('INFO ')) return done(undefined);
      try {
        done(JSON.parse(line.slice(5)) as NatsServerInfo);
      } catch {
        done(undefined);
      }
    });
  });
}

/** True once the JetStream API answers a request (it can lag the INFO line after a restart). */
export async function jetStreamAnswers(port: number): Promise<boolean> {
  let nc: Awaited<ReturnType<typeof connectNats>> | undefined;
  try {
    nc = await connectNats({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: INFO_TIMEOUT_MS });
    const reply = await nc.request('$JS.API.INFO', '', { timeout: INFO_TIMEOUT_MS });
    return (reply.json() as { type?: string }).type === 'io.nats.jetstream.api.v1.account_info_response';
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => {});
  }
}
