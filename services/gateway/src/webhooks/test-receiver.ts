// A webhook receiver on a free loopback port for the gateway's webhook tests: it records each request's headers
// and body, and `answer` decides each response (n counts from 1; default: 200 with an empty body); and the
// settings of a dispatcher allowed to deliver to it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookSettings } from './webhook-dispatcher.ts';

export interface Received {
  headers: Record<string, string>;
  body: string;
}

export type Answer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

export interface TestReceiver {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export async function startTestReceiver(answer: Answer = (_req, res) => res.end()): Promise<TestReceiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString(),
      });
      answer(req, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Settings of a test dispatcher delivering to a receiver on loopback `port`: 3 quick attempts, 2 s each. */
export function loopbackWebhookSettings(
  port: number,
  overrides: Partial<WebhookSettings> = {},
): WebhookSettings {
  return {
    attempts: 3,
    timeoutMs: 2_000,
    backoffMs: 5,
    maxBackoffMs: 20,
    maxPending: 100,
    allowances: [{ address: '127.0.0.1', port }],
    ...overrides,
  };
}
