// One attempt to deliver a webhook: resolve the target's name once, check every address it resolves to (the
// egress proxy's AddressCheck), and POST to the first checked address — never to the name, so nothing can
// re-resolve it (DNS rebinding). TLS is verified against the target's host name. Redirects are not followed
// (a 3xx is a failed attempt); the response body is read to a small bound and dropped; one timer bounds the
// whole attempt. Must never send to an address that did not pass the check, nor hang past its timeout.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressCheck, Resolver } from '@airlock/egress-proxy';
import type { CallbackTarget } from './callback-target.ts';

export interface AttemptOptions {
  target: CallbackTarget;
  headers: Record<string, string>;
  body: string;
  addresses: AddressCheck;
  resolver: Resolver;
  timeoutMs: number;
  /** Bytes of the response body read before the connection is dropped. */
  maxResponseBytes: number;
  /** CA bundle for TLS receivers; Node's bundled roots when absent. */
  ca?: string[] | undefined;
}

export interface AttemptResult {
  /** The receiver's HTTP status, or null when there was no response. */
  status: number | null;
  /** Why the attempt failed (null for a 2xx). */
  error: string | null;
}

/** The address to dial: a literal as given, a name's first address when every one it resolves to passes. */
export async function checkedAddress(
  target: CallbackTarget,
  addresses: AddressCheck,
  resolver: Resolver,
): Promise<{ ok: true; address: string } | { ok: false; reason: string }> {
  let candidates: string[];
  if (target.literal) {
    candidates = [target.host];
  } else {
    try {
      candidates = await resolver.resolve(target.host);
    } catch {
      return { ok: false, reason: `host '${target.host}' does not resolve` };
    }
    if (candidates.length === 0) return { ok: false, reason: `host '${target.host}' does not resolve` };
  }
  for (const address of candidates) {
    const verdict = addresses.check(address, target.port);
    // Deny wins: one refused address refuses the name (its other answers may be chosen by a rebinder).
    if (!verdict.ok) return { ok: false, reason: verdict.reason };
    if (target.scheme === 'http' && !verdict.allowance)
      return {
        ok: false,
        reason: 'plain http is accepted only for an address:port in AIRLOCK_WEBHOOK_ALLOWANCES',
      };
  }
  return { ok: true, address: candidates[0] as string };
}

export async function attemptDelivery(options: AttemptOptions): Promise<AttemptResult> {
  const checked = await checkedAddress(options.target, options.addresses, options.resolver);
  if (!checked.ok) return { status: null, error: `refused: ${checked.reason}` };
  return post(options, checked.address);
}

function post(options: AttemptOptions, address: string): Promise<AttemptResult> {
  const { target } = options;
  const hostHeader = target.host.includes(':') ? `[${target.host}]` : target.host;
  const defaultPort = target.scheme === 'https' ? 443 : 80;
  const common = {
    host: address,
    port: target.port,
    path: target.path,
    method: 'POST',
    agent: false as const,
    headers: {
      ...options.headers,
      host: target.port === defaultPort ? hostHeader : `${hostHeader}:${target.port}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(options.body)),
    },
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const onResponse = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const outcome = (): AttemptResult =>
        status >= 200 && status < 300
          ? { status, error: null }
          : { status, error: status >= 300 && status < 400 ? 'redirect not followed' : `HTTP ${status}` };
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Enough has been read to know the receiver answered; the rest is never buffered.
        if (read >= options.maxResponseBytes) finish(outcome());
      });
      res.on('end', () => finish(outcome()));
      res.on('error', () => finish(outcome()));
    };
    const req =
      target.scheme === 'https'
        ? httpsRequest(
            {
              ...common,
              ...(target.literal ? {} : { servername: target.host }),
              ...(options.ca ? { ca: options.ca } : {}),
              rejectUnauthorized: true,
            },
            onResponse,
          )
        : httpRequest(common, onResponse);
    const timer = setTimeout(
      () => finish({ status: null, error: `timed out after ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: null, error: error.code ? `${error.code}` : error.message.slice(0, 200) }),
    );
    req.end(options.body);
  });
}
