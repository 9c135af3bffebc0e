// The egress proxy: an HTTP forward proxy with CONNECT, the only way out of a sandbox. Runs are opened and
// closed by the worker (openRun mints the per-run proxy credential and the credential sentinels; closeRun
// revokes them and returns the run's egress records). Slow or oversized request heads are cut by the HTTP
// server (408 / 431) before any handler runs. It must never dial anything admission did not check.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AirlockError, type NetworkInput } from '@airlock/protocol';
import { type AddressAllowance, AddressCheck } from './address-check.ts';
import type { CredentialBindings } from './credential-bindings.ts';
import { DEFAULT_PORTS, type ServerEgressPolicy } from './egress-policy.ts';
import { DEFAULT_RUN_LIMITS, type RunLimits } from './egress-run.ts';
import { EgressRuns, type RunAccess } from './egress-runs.ts';
import { forwardRequest } from './forward.ts';
import type { ProxyContext, ProxyLogger } from './proxy-context.ts';
import { type Resolver, systemResolver } from './resolver.ts';
import type { SecretsProvider } from './secrets.ts';
import { openTunnel } from './tunnel.ts';

export interface EgressProxyOptions {
  /** Address to listen on (the egress network's gateway, or loopback). */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** address:port pairs opened past the special-range check (tests, an operator's private upstreams). */
  allowances?: readonly AddressAllowance[];
  /** More addresses of this host the proxy must refuse (its listen address is always refused). */
  ownAddresses?: readonly string[];
  /** @default the system resolver */
  resolver?: Resolver;
  /** @default no denied hosts, ports 80 and 443 */
  server?: Partial<ServerEgressPolicy>;
  /** @default none */
  bindings?: CredentialBindings;
  secrets?: SecretsProvider;
  /** CA certificates (PEM) that verify TLS upstreams. @default Node's bundled roots */
  upstreamCa?: string[];
  runLimits?: Partial<RunLimits>;
  /** Largest request head. @default 16384 */
  maxHeaderBytes?: number;
  /** Time to receive a complete request head. @default 10000 */
  headersTimeoutMs?: number;
  /** Deadline of a resolution and of a connect. @default 10000 */
  dialTimeoutMs?: number;
  /** Client connections at once, over all runs. @default 1024 */
  maxClientConnections?: number;
  logger?: ProxyLogger;
}

export interface EgressGrant {
  executionId: string;
  network: Extract<NetworkInput, { egress: 'proxy' }>;
  /** The proxy credential dies after this long even if closeRun is never called. */
  ttlMs: number;
}

export class EgressProxy {
  readonly #server: Server;
  readonly #ctx: ProxyContext;
  readonly #host: string;

  private constructor(server: Server, ctx: ProxyContext, host: string) {
    this.#server = server;
    this.#ctx = ctx;
    this.#host = host;
  }

  static async start(options: EgressProxyOptions): Promise<EgressProxy> {
    const ctx: ProxyContext = {
      runs: new EgressRuns({ ...DEFAULT_RUN_LIMITS, ...options.runLimits }),
      server: { denyHosts: options.server?.denyHosts ?? [], ports: options.server?.ports ?? DEFAULT_PORTS },
      addresses: new AddressCheck({
        allowances: options.allowances ?? [],
        ownAddresses: [options.host, ...(options.ownAddresses ?? [])],
      }),
      resolver: options.resolver ?? systemResolver,
      bindings: options.bindings ?? new Map(),
      secrets: options.secrets,
      upstreamCa: options.upstreamCa,
      dialTimeoutMs: options.dialTimeoutMs ?? 10_000,
      logger: options.logger,
    };
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const server = createServer({
      maxHeaderSize: options.maxHeaderBytes ?? 16_384,
      headersTimeout,
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))),
    });
    server.maxConnections = options.maxClientConnections ?? 1024;
    server.on('request', (req, res) => {
      forwardRequest(ctx, req, res).catch((err: unknown) => {
        ctx.logger?.warn({ err: (err as Error).message }, 'egress: forward failed');
        res.destroy();
      });
    });
    server.on('connect', (req, socket, head) => {
      openTunnel(ctx, req, socket, head).catch((err: unknown) => {
        ctx.logger?.warn({ err: (err as Error).message }, 'egress: tunnel failed');
        socket.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return new EgressProxy(server, ctx, options.host);
  }

  /** Where the proxy listens. */
  get address(): { host: string; port: number } {
    return { host: this.#host, port: (this.#server.address() as AddressInfo).port };
  }

  /** Runs currently open. */
  get openRuns(): number {
    return this.#ctx.runs.size;
  }

  /**
   * Opens a run: mints its proxy credential and one sentinel per credential it asks for. Throws AirlockError
   * `egress_unavailable` for a credential this server has no binding (or no secrets provider) for.
   */
  openRun(grant: EgressGrant): RunAccess {
    for (const [i, name] of grant.network.credentials.entries()) {
      if (!this.#ctx.bindings.has(name) || !this.#ctx.secrets) {
        throw new AirlockError('egress_unavailable', `credential '${name}' has no binding on this server`, {
          field: `network.credentials[${i}]`,
        });
      }
    }
    return this.#ctx.runs.open({
      executionId: grant.executionId,
      allow: grant.network.allow,
      credentials: grant.network.credentials,
      ttlMs: grant.ttlMs,
    }).access;
  }

  /** Revokes the run's credential, ends its connections, returns its egress records. */
  closeRun(executionId: string): ReturnType<EgressRuns['close']> {
    return this.#ctx.runs.close(executionId);
  }

  /** `http://user:password@host:port` for HTTP_PROXY/HTTPS_PROXY. */
  proxyUrl(access: RunAccess, host = this.#host): string {
    const user = encodeURIComponent(access.username);
    const password = encodeURIComponent(access.password);
    const authority = host.includes(':') ? `[${host}]` : host;
    return `http://${user}:${password}@${authority}:${this.address.port}`;
  }

  async close(): Promise<void> {
    this.#ctx.runs.closeAll();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
