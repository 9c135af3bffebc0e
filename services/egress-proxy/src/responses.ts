// The proxy's own answers to the sandbox: an HTTP response (forwarded requests) or raw bytes on a CONNECT
// socket, each with the error table's JSON body. A 407 carries Proxy-Authenticate.

import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AirlockError, ERROR_CODES, type ErrorCode } from '@airlock/protocol';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
};

function body(code: ErrorCode, reason: string): string {
  return JSON.stringify(new AirlockError(code, `${ERROR_CODES[code].meaning} ${reason}`.trim()).toBody());
}

function headers(code: ErrorCode, text: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'x-airlock-egress': code,
    ...(code === 'proxy_auth_required' ? { 'proxy-authenticate': 'Basic realm="airlock-egress"' } : {}),
  };
}

export function answerHttp(res: ServerResponse, code: ErrorCode, reason = ''): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body(code, reason);
  res.writeHead(ERROR_CODES[code].status, { ...headers(code, text), connection: 'close' });
  res.end(text);
}

export function answerSocket(socket: Duplex, code: ErrorCode, reason = ''): void {
  const status = ERROR_CODES[code].status;
  const text = body(code, reason);
  const head = Object.entries({ ...headers(code, text), connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${head}\r\n${text}`);
}
