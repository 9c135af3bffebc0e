// The standalone proxy's run control over NATS (scaled out): subscribes to `open`, `close` and `info` under
// `airlock.egress.<proxy id>.` (egress-control.ts), validates every message with zod and answers it with the
// run's proxy URL, sentinels and variables and the proxy's network, the run's egress records, or a coded error from the one
// table. A run a worker never closes is closed when its TTL has passed, so its records do not pile up.
// Must never crash or stay silent on a message, and never log a proxy credential or a sentinel.

import { AirlockError, parseOrThrow } from '@airlock/protocol';
import { egressEnv } from '@airlock/sandbox';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  type CloseRunReply,
  CloseRunRequest,
  egressSubjects,
  type OpenRunReply,
  OpenRunRequest,
  type ProxyInfo,
} from './egress-control.ts';
import type { EgressProxy } from './egress-proxy.ts';
import type { ProxyLogger } from './proxy-context.ts';
import type { ProxyEgressBroker } from './proxy-egress-broker.ts';

export interface EgressControlDeps {
  nc: NatsConnection;
  proxyId: string;
  proxy: EgressProxy;
  broker: ProxyEgressBroker;
  /** The egress network's name and the proxy's address on it. */
  info: ProxyInfo;
  logger?: ProxyLogger;
}

export interface EgressControl {
  /** Runs open now. */
  readonly openRuns: number;
  /** Stops answering (drains the subscriptions) and closes every run still open. */
  stop(): Promise<void>;
}

/** A run past its TTL is closed this much later (the credential already died at the TTL). */
const EXPIRY_GRACE_MS = 5_000;

export function startEgressControl(deps: EgressControlDeps): EgressControl {
  const subjects = egressSubjects(deps.proxyId);
  const expiries = new Map<string, NodeJS.Timeout>();

  const closeRun = (executionId: string): CloseRunReply => {
    clearTimeout(expiries.get(executionId));
    expiries.delete(executionId);
    return deps.proxy.closeRun(executionId);
  };

  const handlers: Record<'open' | 'close' | 'info', (data: unknown) => unknown> = {
    open(data) {
      const request = parseOrThrow(OpenRunRequest, data);
      if (expiries.has(request.execution_id)) {
        throw new AirlockError('invalid_request', `egress run ${request.execution_id} is already open`, {
          field: 'execution_id',
        });
      }
      const access = deps.broker.open(request.execution_id, request.network, request.ttl_ms);
      const timer = setTimeout(() => {
        expiries.delete(request.execution_id);
        deps.proxy.closeRun(request.execution_id);
      }, request.ttl_ms + EXPIRY_GRACE_MS);
      timer.unref();
      expiries.set(request.execution_id, timer);
      return {
        ...deps.info,
        proxy_url: access.proxyUrl,
        sentinels: access.sentinels,
        env: egressEnv(access),
      } satisfies OpenRunReply;
    },
    close(data) {
      const request = parseOrThrow(CloseRunRequest, data);
      if (!expiries.has(request.execution_id)) {
        throw new AirlockError('execution_not_found', `no egress run ${request.execution_id} is open here`, {
          field: 'execution_id',
        });
      }
      return closeRun(request.execution_id);
    },
    info() {
      return deps.info;
    },
  };

  const subscriptions: Subscription[] = (['open', 'close', 'info'] as const).map((kind) =>
    deps.nc.subscribe(subjects[kind], {
      callback: (error, msg) => {
        if (error) {
          deps.logger?.warn({ err: error.message, subject: subjects[kind] }, 'egress control: subscription');
          return;
        }
        let reply: unknown;
        try {
          reply = handlers[kind](kind === 'info' ? undefined : readJson(msg.data));
        } catch (thrown) {
          const coded = thrown instanceof AirlockError ? thrown : new AirlockError('internal_error');
          if (coded.status >= 500)
            deps.logger?.warn({ err: (thrown as Error).message }, 'egress control failed');
          reply = coded.toBody();
        }
        try {
          msg.respond(JSON.stringify(reply));
        } catch {
          // No reply subject (a publish, not a request), or the connection is gone: nothing to answer.
        }
      },
    }),
  );

  return {
    get openRuns() {
      return expiries.size;
    },
    async stop() {
      await Promise.allSettled(subscriptions.map((s) => s.drain()));
      for (const id of [...expiries.keys()]) closeRun(id);
    },
  };
}

function readJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new AirlockError('invalid_json', 'The message is not valid UTF-8 JSON.');
  }
}
