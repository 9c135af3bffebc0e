// The runs the proxy serves, keyed by their per-run proxy credential (Basic: execution id + random secret).
// A credential is minted when the worker opens a run and dies when it closes it (or its TTL passes); a
// missing, wrong, expired or revoked one authenticates nothing. Comparison is constant-time.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EgressRun, type RunGrant, type RunLimits } from './egress-run.ts';

export interface RunAccess {
  /** Proxy user name (the execution id). */
  username: string;
  /** Proxy password: random, valid for this run only. */
  password: string;
  /** credential name → sentinel given to the sandbox instead of the value. */
  sentinels: Record<string, string>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class EgressRuns {
  readonly #limits: RunLimits;
  readonly #runs = new Map<string, { run: EgressRun; password: Buffer }>();

  constructor(limits: RunLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#runs.size;
  }

  open(grant: RunGrant): { run: EgressRun; access: RunAccess } {
    if (this.#runs.has(grant.executionId)) throw new Error(`egress run ${grant.executionId} is already open`);
    const run = new EgressRun(grant, this.#limits);
    const password = randomBytes(24).toString('base64url');
    this.#runs.set(grant.executionId, { run, password: digest(password) });
    return {
      run,
      access: { username: grant.executionId, password, sentinels: Object.fromEntries(run.sentinels) },
    };
  }

  /** The live run a `Proxy-Authorization` header belongs to, or undefined. */
  authenticate(header: string | undefined): EgressRun | undefined {
    const match = /^Basic ([A-Za-z0-9+/=]{1,512})$/i.exec(header?.trim() ?? '');
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const entry = this.#runs.get(decoded.slice(0, colon));
    const given = digest(decoded.slice(colon + 1));
    if (!entry || !timingSafeEqual(entry.password, given)) return undefined;
    return entry.run.live ? entry.run : undefined;
  }

  /** Revokes the run's credential, ends its connections and returns its records. */
  close(executionId: string): { records: EgressRun['records']; omitted: number } {
    const entry = this.#runs.get(executionId);
    if (!entry) return { records: [], omitted: 0 };
    this.#runs.delete(executionId);
    entry.run.close();
    return { records: entry.run.records, omitted: entry.run.omitted };
  }

  closeAll(): void {
    for (const id of [...this.#runs.keys()]) this.close(id);
  }
}
