// How the gateway ends idle kept-alive connections: after KEEP_ALIVE_TIMEOUT_MS without a request, but never
// one on which the next request has already arrived. Node's own keep-alive timeout destroys the socket from the
// timers phase of the event loop, before the poll phase reads what is waiting; after a stall of the event loop
// (a loaded machine, a long GC) longer than the timeout, a request a client sent on a connection it had just
// used (well within the advertised `Keep-Alive: timeout=5`) was reset unread: the client's POST failed with
// ECONNRESET and could not be retried blindly. Invariant: an idle connection is closed only when nothing was
// read on it since its timeout fired, after one turn of the event loop that reads what has arrived.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a kept-alive connection may stay idle (advertised to clients as `Keep-Alive: timeout=5`). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * Replaces the server's default close of a timed-out socket. A listener on the server's `timeout` event is
 * Node's documented way to take that decision (Node then leaves the socket alone). The only socket timeout
 * this server sets is the keep-alive one (`connectionTimeout` is 0; headers and request timeouts are checked
 * separately and still apply to a request that has begun).
 */
export function closeIdleAfterReading(server: Server): void {
  server.on('timeout', (socket: Socket) => {
    const read = socket.bytesRead;
    // setImmediate runs after the poll phase: a request already waiting in the kernel has been read by then,
    // and its arrival cleared the keep-alive timeout.
    setImmediate(() => {
      if (socket.bytesRead === read && !socket.destroyed) socket.destroy();
    });
  });
}
