// CONNECT tunnels (TLS end to end between the sandbox and the upstream; the proxy sees only the host).
// A tunnel to a host covered by a credential binding the run holds is refused: the proxy could not scrub the
// value from inside TLS, so such hosts are reached with plain http:// through the proxy, which adds TLS.
// Every tunnel leaves exactly one record, also when its run closes while it is still open or being admitted.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { admit } from './admission.ts';
import { bindingCovers } from './credential-bindings.ts';
import { dialTcp } from './dial.ts';
import { RUN_ENDED } from './egress-run.ts';
import { admissionStatus, endOnce, entryRecorder, entryRun } from './entry.ts';
import type { ProxyContext } from './proxy-context.ts';
import { answerSocket } from './responses.ts';
import { parseAuthority } from './target.ts';

const TUNNEL = { method: 'CONNECT', scheme: 'tunnel' } as const;

export async function openTunnel(
  ctx: ProxyContext,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
): Promise<void> {
  client.on('error', () => client.destroy());
  const run = entryRun(ctx, req, { kind: 'tunnel', method: 'CONNECT' }, () =>
    answerSocket(client, 'proxy_auth_required'),
  );
  if (!run) return;
  run.track(client as Socket);
  const parsed = parseAuthority(req.url ?? '');
  if (!parsed.ok) {
    entryRecorder(run, () => TUNNEL)({ decision: 'denied', reason: parsed.reason, status: 400 });
    answerSocket(client, 'invalid_request', parsed.reason);
    return;
  }
  const { target } = parsed;
  const record = entryRecorder(run, () => ({ ...TUNNEL, host: target.host, port: target.port }));
  // Until the tunnel records on its own, the run's close records it (what is known at that point).
  let recordAtClose = (): void => record({ decision: 'denied', reason: RUN_ENDED, status: null });
  const settle = run.inFlight(() => recordAtClose());
  const credentialHost = () =>
    [...run.sentinels.keys()].some((name) => {
      const binding = ctx.bindings.get(name);
      return binding !== undefined && !target.literal && bindingCovers(binding, target.host);
    })
      ? `tunnels to ${target.host} are refused: it has a credential binding; use http:// through the proxy`
      : undefined;
  const admission = await admit(ctx, run, target, 'CONNECT', credentialHost);
  if (!admission.ok) {
    settle();
    record({
      address: admission.address,
      decision: 'denied',
      reason: admission.reason,
      status: admissionStatus(admission.code),
    });
    answerSocket(client, admission.code, admission.reason);
    return;
  }
  const { address, release } = admission;
  recordAtClose = () => {
    release();
    record({ address, decision: 'allowed', reason: RUN_ENDED, status: null });
  };
  let upstream: Socket;
  try {
    upstream = await dialTcp({ address, port: target.port, timeoutMs: ctx.dialTimeoutMs });
  } catch (error) {
    release();
    const reason = `connect failed: ${(error as Error).message}`;
    settle();
    record({ address, decision: 'allowed', reason, status: 502 });
    answerSocket(client, 'egress_upstream_failed', reason);
    return;
  }
  run.track(upstream);
  let bytesOut = 0;
  let bytesIn = 0;
  let failure: string | null = null;
  const close = endOnce(settle, release, [upstream, client], () =>
    record({
      address,
      decision: 'allowed',
      reason: failure,
      status: 200,
      bytes_out: bytesOut,
      bytes_in: bytesIn,
    }),
  );
  const count = (n: number, direction: 'out' | 'in') => {
    if (direction === 'out') bytesOut += n;
    else bytesIn += n;
    if (!run.addBytes(n)) {
      failure = 'byte budget exhausted';
      close();
    }
  };
  recordAtClose = () => {
    failure ??= RUN_ENDED;
    close();
  };
  const idle = () => {
    failure = 'idle timeout';
    close();
  };
  upstream.setTimeout(run.limits.idleTimeoutMs, idle);
  (client as Socket).setTimeout?.(run.limits.idleTimeoutMs, idle);
  upstream.on('error', (error) => {
    failure ??= `upstream failed: ${error.message}`;
    close();
  });
  upstream.on('close', close);
  client.on('close', close);
  upstream.on('data', (chunk: Buffer) => count(chunk.length, 'in'));
  client.on('data', (chunk: Buffer) => count(chunk.length, 'out'));
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) {
    count(head.length, 'out');
    upstream.write(head);
  }
  upstream.pipe(client);
  client.pipe(upstream);
}
