// One run as the egress proxy knows it: its policy, its proxy credential, the sentinels standing in for its
// credentials, its limits (connections, bytes, request rate) and the egress records it has produced.
// Closing a run revokes its credential and destroys every connection it still has open.

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
  #tokens: number;
  #refilledAt = Date.now();
  #closed = false;

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

  record(input: RecordInput): void {
    if (this.records.length >= this.limits.maxRecords) {
      this.omitted++;
      return;
    }
    this.records.push({ execution_id: this.executionId, time: new Date().toISOString(), ...input });
  }

  close(): void {
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
