// An open session as the process hosting it (an embedded gateway, or a worker in NATS mode) holds it in memory:
// the session record every surface returns, its sandbox lease (null while paused or once closed), the in-flight
// slot it holds and its timers. Plain data and small helpers; no I/O. An entry must never hold a sandbox once its
// session is closed.

import type { Caller, Session } from '@airlock/protocol';
import type { SessionLease } from '@airlock/sandbox';
import type { Admission } from './admission/authorizer.ts';

export interface Entry {
  session: Session;
  sandbox: SessionLease | null;
  /** Holds the tenant's in-flight slot until the session closes. */
  admission: Admission;
  idleMs: number;
  lifetimeEndsMs: number;
  lastUsedMs: number;
  running: AbortController | null;
  closed: Promise<void> | null;
  /** The id of its pause image while the session is paused (its sandbox is then null). */
  paused: string | null;
  /** Who opened it: the session's own operations without a caller (a pause at its idle timeout) are theirs. */
  owner: Caller;
  /** A pause at its idle timeout while it is being taken (its next use waits for it, then resumes). */
  idlePause: Promise<void> | null;
  /** NATS mode: whether a lost worker's session resumes from `latestSnapshot` on another (else it ends). */
  resumeOnWorkerLoss: boolean;
  /** The id of the latest snapshot taken of the session, while it exists. */
  latestSnapshot: string | null;
}

/**
 * When the session ends unless used: the earlier of its idle and lifetime expiry; a paused session whose idle
 * timeout pauses it ends only at its lifetime.
 */
export function expiresAtMs(entry: Entry): number {
  const { session } = entry;
  if (session.on_idle === 'pause' && session.status === 'paused') return entry.lifetimeEndsMs;
  return Math.min(entry.lastUsedMs + entry.idleMs, entry.lifetimeEndsMs);
}

/** A time in ms as the ISO string the session record carries. */
export const iso = (ms: number): string => new Date(ms).toISOString();

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
