// One run as the egress proxy knows it: its policy, its proxy credential, the sentinels standing in for its
// credentials, its limits (connections, bytes, request rate) and the egress records it has produced.
// Closing a run revokes its credential, records every request still in flight ("aborted: run ended"),
// destroys every connection it still has open, and takes no record after that: the records close returns are
// the run's complete list.

import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { EgressRecord } from '@airlock/protocol';
import type { EgressAllow } from './egress-policy.ts';

export interface RunLimits {
  /** Upstream connections (tunnels and forwarded requests) open at once. @default 16 */
  maxConnections: number;
  /** Bytes both ways over the whole run. @default 67108864 */
  maxBytes: number;
  /** Requests and tunnels per minute (token bucket of this size). @default 600 */
  requestsPerMinute: number;
  /** An upstream or tunnel connection idle this long is closed. @default 30000 */
  idleTimeoutMs: number;
  /** Records kept per run; later ones are counted in `omitted`. @default 1000 */
  maxRecords: number;
}

export const DEFAULT_RUN_LIMITS: RunLimits = {
  maxConnections: 16,
  maxBytes: 64 * 1024 * 1024,
  requestsPerMinute: 600,
  idleTimeoutMs: 30_000,
  maxRecords: 1000,
};

export interface RunGrant {
  executionId: string;
  allow: readonly EgressAllow[];
  /** Names of credential bindings the run may use. */
  credentials: readonly string[];
  /** The credential dies after this long even if the run is never closed. */
  ttlMs: number;
}

export type RecordInput = Omit<EgressRecord, 'execution_id' | 'time'>;

/** The reason of a request or tunnel the run's close recorded while it was still in flight. */
export const RUN_ENDED = 'aborted: run ended';

export class EgressRun {
  readonly executionId: string;
  readonly allow: readonly EgressAllow[];
  /** credential name → sentinel the sandbox holds instead of the value. */
  readonly sentinels: ReadonlyMap<string, string>;
  readonly limits: RunLimits;
  readonly records: EgressRecord[] = [];
  omitted = 0;
  bytes = 0;
  connections = 0;
  readonly #expiresAt: number;
  readonly #sockets = new Set<Socket>();
  readonly #inFlight = new Set<() => void>();
  #tokens: number;
  #refilledAt = Date.now();
  #closed = false;
  /** Set once close has recorded what was in flight: later records would be lost, so none are taken. */
  #sealed = false;

  constructor(grant: RunGrant, limits: RunLimits) {
    this.executionId = grant.executionId;
    this.allow = grant.allow;
    this.limits = limits;
    this.#expiresAt = Date.now() + grant.ttlMs;
    this.#tokens = limits.requestsPerMinute;
    this.sentinels = new Map(
      grant.credentials.map((name) => [name, `airlock-sentinel-${randomBytes(18).toString('base64url')}`]),
    );
  }

  get live(): boolean {
    return !this.#closed && Date.now() < this.#expiresAt;
  }

  /** Takes one request from the rate bucket; false when it is empty. */
  takeRequest(): boolean {
    const now = Date.now();
    const perMs = this.limits.requestsPerMinute / 60_000;
    this.#tokens = Math.min(this.limits.requestsPerMinute, this.#tokens + (now - this.#refilledAt) * perMs);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Reserves a connection slot; the returned function frees it (once). */
  takeConnection(): (() => void) | undefined {
    if (this.connections >= this.limits.maxConnections) return undefined;
    this.connections++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.connections--;
    };
  }

  /** Counts bytes; false once the run's byte budget is spent. */
  addBytes(n: number): boolean {
    this.bytes += n;
    return this.bytes <= this.limits.maxBytes;
  }

  get bytesLeft(): boolean {
    return this.bytes < this.limits.maxBytes;
  }

  /** Tracks a socket so close() can destroy it. */
  track(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /**
   * Registers a request or tunnel that has not recorded yet. If the run closes first, close calls
   * `recordAtClose` (synchronously, before it destroys any connection), which must record it. The returned
   * function unregisters it; call it right before the request records on its own.
   */
  inFlight(recordAtClose: () => void): () => void {
    if (this.#closed) return () => {};
    this.#inFlight.add(recordAtClose);
    return () => {
      this.#inFlight.delete(recordAtClose);
    };
  }

  record(input: RecordInput): void {
    if (this.#sealed) return;
    if (this.records.length >= this.limits.maxRecords) {
      this.omitted++;
      return;
    }
    this.records.push({ execution_id: this.executionId, time: new Date().toISOString(), ...input });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const recordAtClose of [...this.#inFlight]) recordAtClose();
    this.#inFlight.clear();
    this.#sealed = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
