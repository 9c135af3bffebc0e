// Test support (not shipped behaviour): loopback upstreams that echo what they received and count the
// connections they accepted, a hostile TLS upstream that answers with exactly the bytes a test gives it, a
// throwaway CA and server certificate made with the openssl CLI at test time, and a client that talks to the
// proxy as a sandboxed program would (absolute-form requests and CONNECT).

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, request, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import type { EgressRecord } from '@airlock/protocol';
import { expect } from 'vitest';
import { parseCredentialBindings } from './credential-bindings.ts';
import type { EgressProxy } from './egress-proxy.ts';
import { FileSecretsProvider } from './secrets.ts';

export interface Upstream extends AsyncDisposable {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Requests received: method, url, headers. */
  requests: Array<{ method: string; url: string; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

type Handler = (
  req: IncomingMessage,
  body: string,
) => { status?: number; headers?: Record<string, string>; body: string };

const echo: Handler = (req, body) => ({
  headers: {
    'content-type': 'application/json',
    'x-echo-authorization': String(req.headers.authorization ?? ''),
  },
  body: JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }),
});

function serve(server: Server, host: string, handler: Handler): Promise<Upstream> {
  const upstream = {
    port: 0,
    connections: 0,
    requests: [] as Upstream['requests'],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => upstream.connections++);
  server.on('secureConnection', () => {});
  server.on('request', (req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      upstream.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
      const out = handler(req, body);
      res.writeHead(out.status ?? 200, out.headers ?? {});
      res.end(out.body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      upstream.port = (server.address() as AddressInfo).port;
      resolve({
        ...upstream,
        get connections() {
          return upstream.connections;
        },
        [Symbol.asyncDispose]: upstream.close,
      } as Upstream);
    });
  });
}

export function startHttpUpstream(host = '127.0.0.1', handler: Handler = echo): Promise<Upstream> {
  return serve(createHttpServer(), host, handler);
}

export interface TestPki extends AsyncDisposable {
  ca: string;
  key: string;
  cert: string;
  close(): Promise<void>;
}

/** Closes run `id` and checks that it left exactly one record, with `fields`; the records it left. */
export function closedWithOneRecord(
  proxy: EgressProxy,
  id: string,
  fields: Record<string, unknown>,
): EgressRecord[] {
  const { records } = proxy.closeRun(id);
  expect(records).toEqual([expect.objectContaining(fields)]);
  return records;
}

/** openssl arguments for a new unencrypted P-256 key, written to the file named next. */
const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout'];

/** The binding `api` of the credential tests: a Bearer token for api.bound.test from the secret `api-token`. */
export const API_BINDING = {
  hosts: ['api.bound.test'],
  header: 'Authorization',
  format: 'Bearer {value}',
  secret: 'api-token',
};

/** Proxy options of the credential tests: bindings `credentials`, secrets from files in `secretsDir`, `pki`'s CA. */
export function credentialOptions(pki: TestPki, secretsDir: string, credentials: Record<string, unknown>) {
  return {
    bindings: parseCredentialBindings({ credentials }),
    secrets: new FileSecretsProvider(secretsDir),
    upstreamCa: [pki.ca],
  };
}

/** A CA and a server certificate for `names`, made now with openssl; the keys live in a temp dir until close. */
export async function makeTestPki(names: string[]): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-egress-pki-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    run([
      'req',
      '-x509',
      ...NEW_P256_KEY,
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=airlock test CA',
    ]);
    run(['req', ...NEW_P256_KEY, 'server.key', '-out', 'server.csr', '-subj', `/CN=${names[0]}`]);
    await writeFile(join(dir, 'ext.cnf'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'ext.cnf',
    ]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `openssl failed (is it installed? apt-get install -y openssl): ${(error as Error).message}`,
    );
  }
  const [ca, key, cert] = await Promise.all(
    ['ca.pem', 'server.key', 'server.pem'].map((f) => readFile(join(dir, f), 'utf8')),
  );
  const close = () => rm(dir, { recursive: true, force: true });
  return { ca: ca as string, key: key as string, cert: cert as string, close, [Symbol.asyncDispose]: close };
}

export function startTlsUpstream(
  pki: TestPki,
  host = '127.0.0.1',
  handler: Handler = echo,
): Promise<Upstream> {
  return serve(createHttpsServer({ key: pki.key, cert: pki.cert }) as unknown as Server, host, handler);
}

/**
 * A TLS upstream that reads one request head and answers with `respond(head)`: each piece is written on its
 * own, a few milliseconds apart (so each is its own TLS record and TCP segment), then the connection ends. It
 * parses nothing it answers: a test can send any bytes, malformed or hostile.
 */
export function startRawTlsUpstream(
  pki: TestPki,
  respond: (head: { headers: Record<string, string> }) => Array<string | Buffer>,
): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const requests: Upstream['requests'] = [];
  let connections = 0;
  const server = createTlsServer({ key: pki.key, cert: pki.cert }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = '';
    const onData = async (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [requestLine = '', ...lines] = head.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const [method = '', url = ''] = requestLine.split(' ');
      requests.push({ method, url, headers });
      for (const piece of respond({ headers })) {
        if (socket.destroyed) return;
        socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
        await sleep(5);
      }
      socket.end();
    };
    socket.on('data', onData);
  });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        get connections() {
          return connections;
        },
        requests,
        close,
        [Symbol.asyncDispose]: close,
      });
    });
  });
}

export interface ProxyAnswer {
  status: number;
  /** The status line's reason phrase. */
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  /** Header names as sent (case kept) and values, alternating. */
  rawHeaders: string[];
  rawTrailers: string[];
  /** 1xx responses received before the final one: status and raw headers. */
  informational: Array<{ status: number; rawHeaders: string[] }>;
  /** latin1: one character per byte received. */
  body: string;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** An absolute-form request through the proxy. */
export function viaProxy(
  proxyPort: number,
  url: string,
  options: { auth?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: proxyPort,
      method: options.method ?? 'GET',
      path: url,
      headers: { ...(options.auth ? { 'proxy-authorization': options.auth } : {}), ...options.headers },
      agent: false,
    });
    const informational: ProxyAnswer['informational'] = [];
    req.on('information', (info) =>
      informational.push({ status: info.statusCode, rawHeaders: info.rawHeaders }),
    );
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          rawTrailers: res.rawTrailers,
          informational,
          body,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A CONNECT; on 200 the socket is the tunnel (caller closes it), otherwise the answer's body is read. */
export function connectVia(
  proxyPort: number,
  authority: string,
  auth?: string,
): Promise<{ status: number; body: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: authority,
      headers: auth ? { 'proxy-authorization': auth } : {},
      agent: false,
    });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) {
        resolve({ status: 200, body: '', socket });
        return;
      }
      let body = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (body += c));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, body, socket }));
      socket.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes to the proxy; resolves with everything it answered once it closes the connection. */
export function rawExchange(port: number, write: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (answer += c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => write(socket));
  });
}

/** GET over TLS inside an established tunnel. */
export function getOverTunnel(socket: Socket, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tls = connectTls({ socket, servername, ca: [ca] }, () => {
      tls.write(`GET /through-tunnel HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
    });
    let text = '';
    tls.setEncoding('utf8');
    tls.on('data', (c: string) => (text += c));
    tls.on('end', () => resolve(text));
    tls.on('error', reject);
  });
}
