// Finds a TCP port on 127.0.0.1 that is free right now, for a test server to listen on.
// Must never bind anything but loopback, and never keep the port open after it answers.

import { createServer } from 'node:net';

/** A port the kernel just handed out on 127.0.0.1 (free at that moment; a caller retries if it is taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port was assigned'))));
    });
  });
}
