// The checks every proxied request and tunnel passes, in order, before anything is dialled: the run's
// credential (407), the target's form (400), the run's request rate (429), its policy (403), a connection
// slot (429), then one resolution and the range check of every address it returned (403). The answer is
// either a refusal to send back and record, or the one address that was checked and may be dialled.

import type { ErrorCode } from '@airlock/protocol';
import { decideEgress } from './egress-policy.ts';
import type { EgressRun } from './egress-run.ts';
import type { ProxyContext } from './proxy-context.ts';
import type { EgressTarget } from './target.ts';

export interface Refusal {
  code: ErrorCode;
  reason: string;
  address: string | null;
}

export type Admission = { ok: true; address: string; release: () => void } | ({ ok: false } & Refusal);

const refuse = (code: ErrorCode, reason: string, address: string | null = null) =>
  ({ ok: false, code, reason, address }) as const;

export async function admit(
  ctx: ProxyContext,
  run: EgressRun,
  target: EgressTarget,
  method: string,
  /** Extra refusal the caller knows about (e.g. a tunnel to a credential host). */
  preCheck?: () => string | undefined,
): Promise<Admission> {
  if (!run.takeRequest()) return refuse('egress_limit', 'request rate exhausted');
  if (!run.bytesLeft) return refuse('egress_limit', 'byte budget exhausted');
  const policy = decideEgress(run.allow, ctx.server, target, method, ctx.addresses.allowancePorts());
  if (!policy.ok) return refuse('egress_denied', policy.reason);
  const extra = preCheck?.();
  if (extra) return refuse('egress_denied', extra);
  const release = run.takeConnection();
  if (!release) return refuse('egress_limit', `too many open connections (${run.limits.maxConnections})`);
  let addresses: string[];
  if (target.literal) {
    addresses = [target.host];
  } else {
    try {
      addresses = await withTimeout(ctx.resolver.resolve(target.host), ctx.dialTimeoutMs);
    } catch {
      release();
      return refuse('egress_upstream_failed', `${target.host} does not resolve`);
    }
    if (addresses.length === 0) {
      release();
      return refuse('egress_upstream_failed', `${target.host} does not resolve`);
    }
  }
  // Every answer must pass; the first is the one dialled. A name with one bad answer is refused whole.
  for (const address of addresses) {
    const verdict = ctx.addresses.check(address, target.port);
    if (!verdict.ok) {
      release();
      return refuse('egress_denied', verdict.reason, address);
    }
  }
  return { ok: true, address: addresses[0] as string, release };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
