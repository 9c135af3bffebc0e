// Opens the upstream connection to exactly the address admission checked — never to a name, so nothing can
// re-resolve it. TLS upstreams are verified against the configured CA bundle and the request's host name.

import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

export interface DialOptions {
  address: string;
  port: number;
  timeoutMs: number;
}

export function dialTcp(options: DialOptions): Promise<Socket> {
  return settle(connectTcp({ host: options.address, port: options.port }), 'connect', options.timeoutMs);
}

export function dialTls(
  options: DialOptions & { servername: string; ca: string[] | undefined },
): Promise<TLSSocket> {
  const socket = connectTls({
    host: options.address,
    port: options.port,
    servername: options.servername,
    ...(options.ca ? { ca: options.ca } : {}),
    rejectUnauthorized: true,
    ALPNProtocols: ['http/1.1'],
  });
  return settle(socket, 'secureConnect', options.timeoutMs);
}

function settle<S extends Socket>(socket: S, ready: string, timeoutMs: number): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      // Handlers attached by the caller report later errors; this one only keeps an early one from crashing.
      socket.on('error', () => {});
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
  });
}
