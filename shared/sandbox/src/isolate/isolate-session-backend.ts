// The SessionBackend of the `isolate` backend: JavaScript and TypeScript sessions, each in a kept isolated-vm
// context inside its own supervised host process (its lease: isolate-session-lease.ts), so one session's crash,
// memory kill or timeout never touches another session or the one-shot hosts. Must never open a session once
// closing has begun, and never leave a session host running after close().

import { AirlockError, type Language } from '@airlock/protocol';
import { OpenSessions } from '../open-sessions.ts';
import type { SessionBackend, SessionLease, SessionSpec } from '../sandbox.ts';
import { openMemoryCgroups } from './host-cgroup.ts';
import type { SandboxLogger } from './host-pool.ts';
import { IsolateSessionLease, type IsolateSessionSettings } from './isolate-session-lease.ts';

export interface IsolateSessionBackendOptions {
  /** How long a session host may overrun a cell's deadline before it is killed. @default 2000 */
  killGraceMs?: number;
  /** How long a new session host may take to become ready. @default 30000 */
  readyTimeoutMs?: number;
  /**
   * The cgroup v1 memory group under which each session host gets its own group, capped for the session's
   * memory_mb; null turns that off (see IsolateSandboxOptions.memoryCgroup).
   * @default /sys/fs/cgroup/memory/airlock
   */
  memoryCgroup?: string | null;
  /** Says why session hosts run without a memory cgroup, if they do. @default no logging */
  logger?: SandboxLogger;
}

const LANGUAGES: readonly Language[] = ['javascript', 'typescript'];

export class IsolateSessionBackend implements SessionBackend {
  readonly backend = 'isolate' as const;
  readonly languages = LANGUAGES;
  readonly #settings: IsolateSessionSettings;
  readonly #sessions = new OpenSessions<IsolateSessionLease>();

  constructor(options: IsolateSessionBackendOptions = {}) {
    const cgroups = openMemoryCgroups(options.memoryCgroup, options.logger, 'isolate session hosts');
    this.#settings = {
      killGraceMs: options.killGraceMs ?? 2000,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      cgroups,
    };
  }

  async open(spec: SessionSpec): Promise<SessionLease> {
    this.#sessions.checkOpen();
    if (!LANGUAGES.includes(spec.language)) {
      throw new AirlockError('backend_unavailable', `the isolate backend has no ${spec.language} sessions`, {
        field: 'language',
      });
    }
    const opening = IsolateSessionLease.open(spec, this.#settings);
    return this.#sessions.add(opening);
  }

  async snapshotUnsupported(): Promise<string> {
    return 'isolate sessions cannot be snapshotted: a V8 isolate’s heap cannot be saved and restored';
  }

  /** Process id of an open session's host, or undefined once it is closed or ended. */
  hostPid(sessionId: string): number | undefined {
    return this.#sessions.get(sessionId)?.pid;
  }

  /** The memory cap of an open session's host (see IsolateSessionLease.memoryCap), for checks. */
  hostMemoryCap(sessionId: string): { cgroup: string | null; capBytes: number } | undefined {
    return this.#sessions.get(sessionId)?.memoryCap;
  }

  get openCount(): number {
    return this.#sessions.size;
  }

  async close(): Promise<void> {
    await this.#sessions.close();
  }
}
