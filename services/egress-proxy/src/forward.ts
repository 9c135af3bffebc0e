// Plain HTTP through the proxy (absolute-form requests). For a host covered by a credential binding the run
// holds, the request goes upstream over TLS with certificate verification (never in clear), the run's
// sentinel in the binding's header is replaced by the real value, and the response goes back through
// `scrubbed-response.ts`, which scrubs every form of that value or refuses what it cannot read.
// Every request leaves exactly one record, also when its run closes while it is still in flight.

import { type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { admit } from './admission.ts';
import { bindingCovers } from './credential-bindings.ts';
import { dialTcp, dialTls } from './dial.ts';
import { type EgressRun, type RecordInput, RUN_ENDED } from './egress-run.ts';
import { admissionStatus, endOnce, entryRecorder, entryRun } from './entry.ts';
import type { ProxyContext } from './proxy-context.ts';
import { answerHttp } from './responses.ts';
import { relayScrubbed } from './scrubbed-response.ts';
import { SecretScrubber } from './scrubber.ts';
import { parseAbsoluteUrl } from './target.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

interface Injection {
  /** Credential names covering the host, with their secret values (for injection and scrubbing). */
  secrets: Array<{ name: string; header: string; format: string; sentinel: string; value: string }>;
}

async function injectionFor(ctx: ProxyContext, run: EgressRun, host: string): Promise<Injection> {
  const secrets: Injection['secrets'] = [];
  for (const [name, sentinel] of run.sentinels) {
    const binding = ctx.bindings.get(name);
    if (!binding || !bindingCovers(binding, host)) continue;
    if (!ctx.secrets) throw new Error('no secrets provider');
    const value = await ctx.secrets.resolve(binding.secret ?? name);
    secrets.push({ name, header: binding.header.toLowerCase(), format: binding.format, sentinel, value });
  }
  return { secrets };
}

function outboundHeaders(headers: IncomingHttpHeaders, authority: string): Record<string, string | string[]> {
  const connectionTokens = String(headers.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.includes(name)) continue;
    out[name] = value;
  }
  // Host always names the checked target, so a forged Host cannot reach another virtual host.
  out.host = authority;
  return out;
}

export async function forwardRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  const run = entryRun(ctx, req, { kind: 'request', method: req.method }, () =>
    answerHttp(res, 'proxy_auth_required'),
  );
  if (!run) return;
  run.track(req.socket);
  const parsed = parseAbsoluteUrl(req.url ?? '');
  if (!parsed.ok) {
    entryRecorder(run, () => ({ method, scheme: 'http' }))({
      decision: 'denied',
      reason: parsed.reason,
      status: 400,
    });
    answerHttp(res, 'invalid_request', parsed.reason);
    return;
  }
  let target = parsed.target;
  const record = entryRecorder(run, () => ({
    method,
    scheme: 'http',
    host: target.host,
    port: target.port,
    path: target.path,
  }));
  // Until the request records on its own, the run's close records it (what is known at that point).
  let recordAtClose = (): void => record({ decision: 'denied', reason: RUN_ENDED, status: null });
  const settle = run.inFlight(() => recordAtClose());
  const deny = (outcome: Partial<RecordInput>, code: Parameters<typeof answerHttp>[1], reason: string) => {
    settle();
    record({ decision: 'denied', reason, status: null, ...outcome });
    answerHttp(res, code, reason);
  };
  if (req.headers.upgrade !== undefined) {
    deny({ status: 403 }, 'egress_denied', 'protocol upgrades are not proxied');
    return;
  }
  let injection: Injection;
  try {
    injection = target.literal ? { secrets: [] } : await injectionFor(ctx, run, target.host);
  } catch {
    deny({ status: 502 }, 'egress_upstream_failed', 'a credential bound to this host is unavailable');
    return;
  }
  const tls = injection.secrets.length > 0;
  if (tls && !target.explicitPort) target = { ...target, port: 443 };
  const scheme = tls ? 'https' : 'http';
  const admission = await admit(ctx, run, target, method);
  if (!admission.ok) {
    deny(
      { scheme, status: admissionStatus(admission.code), address: admission.address },
      admission.code,
      admission.reason,
    );
    return;
  }
  const { address, release } = admission;
  recordAtClose = () => {
    release();
    record({ scheme, address, decision: 'allowed', reason: RUN_ENDED, status: null });
  };
  const headers = outboundHeaders(
    req.headers,
    target.explicitPort ? `${target.host}:${target.port}` : target.host,
  );
  let credential: string | null = null;
  for (const secret of injection.secrets) {
    const sent = headers[secret.header];
    if (typeof sent === 'string' && sent.includes(secret.sentinel)) {
      headers[secret.header] = secret.format.replace('{value}', secret.value);
      credential = secret.name;
    }
  }
  const scrubber = tls ? new SecretScrubber(injection.secrets.map((s) => s.value)) : undefined;
  if (scrubber) headers['accept-encoding'] = 'identity';

  let upstream: Socket;
  try {
    upstream = tls
      ? await dialTls({
          address,
          port: target.port,
          timeoutMs: ctx.dialTimeoutMs,
          servername: target.host,
          ca: ctx.upstreamCa,
        })
      : await dialTcp({ address, port: target.port, timeoutMs: ctx.dialTimeoutMs });
  } catch (error) {
    release();
    deny(
      { scheme, status: 502, address },
      'egress_upstream_failed',
      `connect failed: ${(error as Error).message}`,
    );
    return;
  }
  run.track(upstream);
  upstream.setTimeout(run.limits.idleTimeoutMs, () => upstream.destroy(new Error('idle timeout')));

  let status: number | null = null;
  let failure: string | null = null;
  const finish = endOnce(settle, release, [upstream], () =>
    record({
      scheme,
      address,
      decision: 'allowed',
      reason: failure,
      status,
      bytes_out: upstream.bytesWritten,
      bytes_in: upstream.bytesRead,
      credential,
    }),
  );
  recordAtClose = () => {
    failure ??= RUN_ENDED;
    finish();
  };
  const overBudget = (n: number) => {
    if (run.addBytes(n)) return;
    failure = 'byte budget exhausted';
    upstream.destroy();
    res.destroy();
  };

  const outbound = request({ createConnection: () => upstream, method, path: target.path, headers });
  outbound.on('error', (error) => {
    failure ??= `upstream failed: ${scrubber ? scrubber.scrubText(error.message) : error.message}`;
    if (!res.headersSent) {
      status = 502;
      answerHttp(res, 'egress_upstream_failed', failure);
    } else res.destroy();
    finish();
  });
  outbound.on('response', (upstreamRes) => {
    status = upstreamRes.statusCode ?? 502;
    res.on('close', finish);
    if (scrubber) {
      relayScrubbed(upstreamRes, res, scrubber, {
        hopByHop: HOP_BY_HOP,
        onBytes: overBudget,
        onFailure: (reason) => {
          failure ??= reason;
          if (!res.headersSent) {
            status = 502;
            answerHttp(res, 'egress_upstream_failed', reason);
          } else res.destroy();
          finish();
        },
      });
      return;
    }
    const responseHeaders: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upstreamRes.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
    }
    res.writeHead(status, responseHeaders);
    upstreamRes.on('data', (chunk: Buffer) => overBudget(chunk.length));
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
  });
  req.on('data', (chunk: Buffer) => overBudget(chunk.length));
  req.on('error', () => outbound.destroy());
  res.on('close', () => {
    if (!res.writableFinished) outbound.destroy();
  });
  req.pipe(outbound);
}
