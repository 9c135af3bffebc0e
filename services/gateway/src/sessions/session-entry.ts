// An open session as the gateway holds it in memory: the session record every surface returns, its sandbox
// lease (null while paused or once closed), the in-flight slot it holds and its timers. Plain data and two
// small formatting helpers; no I/O. An entry must never hold a sandbox once its session is closed.

import type { Session } from '@airlock/protocol';
import type { SessionLease } from '@airlock/sandbox';
import type { Admission } from '../authorizer.ts';

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
}

/** A time in ms as the ISO string the session record carries. */
export const iso = (ms: number): string => new Date(ms).toISOString();

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
