// The host side of guest `fetch`: each request a guest makes is checked here, then performed by the
// isolate host as an HTTP forward-proxy client of the run's egress proxy, with the run's per-run proxy
// credential. Policy, SSRF checks, credential injection, scrubbing, limits and egress records are all the
// proxy's: this file never dials anything but the proxy. `http://` goes to the proxy in absolute form (the
// proxy upgrades bound hosts to verified TLS); `https://` goes through a CONNECT tunnel, with certificate
// verification here. Only copies cross into the isolate: strings and a fresh Uint8Array, bodies size-capped.
// Must never follow a request without a proxy (a run without egress gets a refusal), and never outlive its job.

import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Requests of one job in flight at once. */
export const MAX_PENDING_FETCHES = 16;
/** Largest request body a guest may send. */
export const MAX_FETCH_REQUEST_BYTES = 4 * 1024 * 1024;
/** Largest response body a guest may receive (more fails the fetch). */
export const MAX_FETCH_RESPONSE_BYTES = 8 * 1024 * 1024;
const MAX_HEADERS = 100;
const MAX_HEADER_CHARS = 16 * 1024;
const MAX_URL_CHARS = 8 * 1024;
const MAX_REDIRECTS = 20;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_NAME = METHOD;
const BAD_HEADER_VALUE = /[\0\r\n]/;
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
/** Headers the guest may not set: hop-by-hop, framing, and anything speaking to the proxy. */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export type FetchRedirect = 'follow' | 'manual' | 'error';

/** A request as the guest asked for it, already checked. */
export interface GuestFetchRequest {
  method: string;
  url: URL;
  /** Flat [name, value, …], lower-case names. */
  headers: string[];
  body: Uint8Array | null;
  redirect: FetchRedirect;
}

/** What the guest takes once the host fires its reply. */
export type GuestFetchReply =
  | {
      ok: true;
      status: number;
      statusText: string;
      url: string;
      redirected: boolean;
      headers: string[];
      body: Uint8Array;
    }
  | { ok: false; message: string };

/** The proxy a job's fetches go through: its address and the run's `Proxy-Authorization` value. */
export interface FetchProxy {
  host: string;
  port: number;
  authorization: string;
}

/** Parses the run's `http://user:password@host:port` proxy URL; null when it is not one. */
export function parseFetchProxy(proxyUrl: string): FetchProxy | null {
  const url = URL.parse(proxyUrl);
  if (url === null || url.protocol !== 'http:' || url.username === '' || url.port === '') return null;
  const credential = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port),
    authorization: `Basic ${Buffer.from(credential).toString('base64')}`,
  };
}

/** Checks what a guest passed to fetchStart; returns the request or a message for its TypeError. */
export function checkFetchRequest(
  method: unknown,
  url: unknown,
  headers: unknown,
  body: unknown,
  redirect: unknown,
): GuestFetchRequest | string {
  if (typeof method !== 'string' || !METHOD.test(method) || method.length > 32) return 'invalid method';
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) return `method ${method} is not allowed`;
  if (typeof url !== 'string' || url.length > MAX_URL_CHARS) return 'invalid URL';
  const parsed = URL.parse(url);
  if (parsed === null) return `invalid URL '${url.slice(0, 200)}'`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `unsupported URL scheme '${parsed.protocol}' (only http: and https:)`;
  }
  if (parsed.username !== '' || parsed.password !== '') return 'URLs with credentials are not allowed';
  if (!Array.isArray(headers) || headers.length % 2 !== 0 || headers.length > MAX_HEADERS * 2) {
    return 'invalid headers';
  }
  let chars = 0;
  const flat: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name: unknown = headers[i];
    const value: unknown = headers[i + 1];
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) return 'invalid header name';
    if (typeof value !== 'string' || BAD_HEADER_VALUE.test(value)) return `invalid value for header ${name}`;
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower)) return `header ${lower} may not be set`;
    chars += name.length + value.length;
    flat.push(lower, value);
  }
  if (chars > MAX_HEADER_CHARS) return 'request headers are too large';
  let bytes: Uint8Array | null;
  if (body === null) bytes = null;
  else if (typeof body === 'string') bytes = new Uint8Array(Buffer.from(body, 'utf8'));
  else if (body instanceof Uint8Array) bytes = body;
  else return 'invalid body';
  if (bytes !== null && bytes.byteLength > MAX_FETCH_REQUEST_BYTES) {
    return `request body exceeds ${MAX_FETCH_REQUEST_BYTES} bytes`;
  }
  if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') return 'invalid redirect mode';
  return { method: method.toUpperCase(), url: parsed, headers: flat, body: bytes, redirect };
}

class FetchFailure extends Error {}

/** Collects a response body up to the cap. */
function readBody(response: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      reject(error);
      response.destroy();
    };
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FETCH_RESPONSE_BYTES) {
        fail(new FetchFailure(`response body exceeds ${MAX_FETCH_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    response.once('error', fail);
    response.once('aborted', () => fail(new FetchFailure('the connection closed mid-response')));
  });
}

/** Opens a CONNECT tunnel through the proxy and TLS over it, verifying the upstream's certificate. */
function tunnel(proxy: FetchProxy, url: URL, signal: AbortSignal): Promise<Socket> {
  const port = url.port === '' ? 443 : Number(url.port);
  const authority = `${url.hostname}:${port}`;
  return new Promise((resolve, reject) => {
    const connect = httpRequest({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, 'proxy-authorization': proxy.authorization },
      agent: false,
      signal,
    });
    connect.once('error', reject);
    connect.once('connect', (response: IncomingMessage, socket: Socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(
          new FetchFailure(`the egress proxy refused the tunnel to ${authority} (${response.statusCode})`),
        );
        return;
      }
      const secure = tlsConnect({
        socket,
        servername: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        ALPNProtocols: ['http/1.1'],
      });
      const onAbort = () => secure.destroy(new FetchFailure('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      secure.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(secure);
      });
      secure.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      });
    });
    connect.end();
  });
}

/** One request/response exchange through the proxy (no redirects). */
async function exchange(
  proxy: FetchProxy,
  request: GuestFetchRequest,
  signal: AbortSignal,
): Promise<{ response: IncomingMessage; body: Uint8Array }> {
  const headers: OutgoingHttpHeaders = {};
  for (let i = 0; i < request.headers.length; i += 2) {
    const name = request.headers[i] as string;
    const value = request.headers[i + 1] as string;
    const prior = headers[name];
    headers[name] =
      prior === undefined ? value : [...(Array.isArray(prior) ? prior : [String(prior)]), value];
  }
  headers.host = request.url.host;
  headers.connection = 'close';
  if (request.body !== null) headers['content-length'] = String(request.body.byteLength);
  const https = request.url.protocol === 'https:';
  const socket = https ? await tunnel(proxy, request.url, signal) : undefined;
  if (!https) headers['proxy-authorization'] = proxy.authorization;
  const target = `${request.url.pathname}${request.url.search}`;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = httpRequest({
      ...(socket
        ? { createConnection: () => socket, path: target }
        : { host: proxy.host, port: proxy.port, path: request.url.href.replace(/#.*$/, '') }),
      method: request.method,
      headers,
      agent: false,
      signal,
    });
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
    outgoing.end(request.body === null ? undefined : Buffer.from(request.body));
  });
  try {
    return { response, body: await readBody(response) };
  } finally {
    socket?.destroy();
  }
}

/** Performs a guest's request (following redirects when asked); never throws, the reply says what happened. */
export async function performFetch(
  proxy: FetchProxy,
  first: GuestFetchRequest,
  signal: AbortSignal,
): Promise<GuestFetchReply> {
  let request = first;
  try {
    for (let hop = 0; ; hop++) {
      const { response, body } = await exchange(proxy, request, signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(status) && location !== undefined && request.redirect !== 'manual') {
        if (request.redirect === 'error')
          return { ok: false, message: `redirect to ${location} (redirect: error)` };
        if (hop >= MAX_REDIRECTS) return { ok: false, message: `more than ${MAX_REDIRECTS} redirects` };
        const next = URL.parse(location, request.url.href);
        if (next === null || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
          return { ok: false, message: `unusable redirect location '${location.slice(0, 200)}'` };
        }
        const toGet = status === 303 || ((status === 301 || status === 302) && request.method === 'POST');
        request = {
          ...request,
          url: next,
          method: toGet && request.method !== 'HEAD' ? 'GET' : request.method,
          body: toGet ? null : request.body,
          headers: toGet ? withoutBodyHeaders(request.headers) : request.headers,
        };
        continue;
      }
      return {
        ok: true,
        status,
        statusText: response.statusMessage ?? '',
        url: request.url.href,
        redirected: hop > 0,
        headers: [...response.rawHeaders],
        body,
      };
    }
  } catch (error) {
    if (signal.aborted) return { ok: false, message: 'the job ended before the response arrived' };
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

function withoutBodyHeaders(headers: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!name.startsWith('content-')) kept.push(name, headers[i + 1] as string);
  }
  return kept;
}
