// A webhook receiver on a free loopback port for the end-to-end webhook tests: it verifies every delivery with
// the standardwebhooks library and the tenant's secret, hands a verified one to the test and answers it 204,
// and answers anything else 400, telling the test why. Traffic stays on loopback.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A verified delivery: its path, its `webhook-id` header, and the event's type and data. */
export interface VerifiedDelivery {
  path: string;
  webhookId: string;
  type: string;
  data: any;
}

export interface WebhookReceiver {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the receiver; `onDelivery` gets each verified delivery and may answer the status to reply (204 when it
 * answers nothing), `onRefused` the error of each other request.
 */
export async function startWebhookReceiver(
  secret: string,
  onDelivery: (delivery: VerifiedDelivery) => number | undefined | void,
  onRefused: (message: string) => void = () => {},
): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = new Webhook(secret).verify(
          Buffer.concat(chunks).toString(),
          req.headers as Record<string, string>,
        ) as { type: string; data: any };
        const status = onDelivery({
          path: req.url ?? '/',
          webhookId: String(req.headers['webhook-id']),
          type: body.type,
          data: body.data,
        });
        res.writeHead(status ?? 204).end();
      } catch (error) {
        onRefused((error as Error).message);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
