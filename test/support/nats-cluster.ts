// A scaled-out Airlock for tests, as an operator runs it: a real nats-server (JetStream on a temp dir, free
// loopback port) and gateways and workers as real child processes (`node services/gateway/src/main.ts`
// with AIRLOCK_QUEUE=nats, `node services/worker/src/main.ts`), each with its own audit log in the
// cluster's temp dir. Dispose kills every process it spawned (by its own child handle, i.e. its pid), closes
// its NATS connections, stops the server and removes the temp dir. useNatsCluster() gives a test file one.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NatsServer, startNatsServer } from '@airlock/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect } from 'vitest';
import { call } from './service.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const GATEWAY_MAIN = join(ROOT, 'services', 'gateway', 'src', 'main.ts');
const WORKER_MAIN = join(ROOT, 'services', 'worker', 'src', 'main.ts');
const EGRESS_PROXY_MAIN = join(ROOT, 'services', 'egress-proxy', 'src', 'main.ts');
/** Generous: the machine runs other test files at the same time, and a process starts isolate hosts. */
const START_TIMEOUT_MS = 90_000;

export interface AirlockProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly auditPath: string;
  /** The REST address of a gateway (`http://127.0.0.1:PORT`); empty for a worker. */
  readonly url: string;
  /** Resolves with the exit code (or null after a signal). */
  readonly exited: Promise<number | null>;
  output(): string;
  /** The audit records this process wrote so far (complete lines only). */
  audit(): Promise<Array<Record<string, any>>>;
}

export interface NatsClusterOptions {
  /** AIRLOCK_* variables every process gets (on top of the cluster's). */
  env?: Record<string, string>;
  /** Extra nats-server arguments. */
  natsArgs?: readonly string[];
}

export class NatsCluster implements AsyncDisposable {
  readonly nats: NatsServer;
  readonly dir: string;
  readonly #env: Record<string, string>;
  readonly #processes: AirlockProcess[] = [];
  readonly #connections: NatsConnection[] = [];
  #count = 0;

  private constructor(nats: NatsServer, dir: string, env: Record<string, string>) {
    this.nats = nats;
    this.dir = dir;
    this.#env = env;
  }

  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-nats-cluster-'));
    try {
      const nats = await startNatsServer({ jetstream: true, args: options.natsArgs ?? [] });
      return new NatsCluster(nats, dir, options.env ?? {});
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A gateway process with no local workers; resolves once it listens. */
  async gateway(env: Record<string, string> = {}): Promise<AirlockProcess> {
    const started = this.#spawn('gateway', GATEWAY_MAIN, { AIRLOCK_PORT: '0', ...env });
    const match = await waitFor(started, /"address":"(http:\/\/[^"]+)"/);
    Object.assign(started, { url: match[1]! });
    return started;
  }

  /** A worker process; resolves once it consumes. */
  async worker(env: Record<string, string> = {}): Promise<AirlockProcess> {
    const started = this.#spawn('worker', WORKER_MAIN, env);
    await waitFor(started, /"msg":"airlock worker ready"/);
    return started;
  }

  /** A standalone egress proxy process (AIRLOCK_EGRESS=remote workers use it); resolves once it answers. */
  async egressProxy(env: Record<string, string> = {}): Promise<AirlockProcess> {
    const started = this.#spawn('egress-proxy', EGRESS_PROXY_MAIN, env);
    await waitFor(started, /"msg":"airlock egress proxy ready"/);
    return started;
  }

  /** A client connection of the test's own, closed on dispose. */
  async connect(): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.nats.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      timeout: 20_000,
    });
    this.#connections.push(nc);
    return nc;
  }

  /** Every audit record of every process, in file order per process. */
  async allAudit(): Promise<Array<Record<string, any>>> {
    const all = await Promise.all(this.#processes.map((p) => p.audit()));
    return all.flat();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const started of this.#processes) {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
    }
    await Promise.all(this.#processes.map((p) => p.exited));
    await Promise.all(this.#connections.splice(0).map((nc) => nc.close().catch(() => {})));
    await this.nats[Symbol.asyncDispose]();
    await rm(this.dir, { recursive: true, force: true });
  }

  #spawn(
    role: 'gateway' | 'worker' | 'egress-proxy',
    main: string,
    env: Record<string, string>,
  ): AirlockProcess {
    this.#count++;
    const name = `${role}-${this.#count}`;
    const auditPath = join(this.dir, `${name}.audit.jsonl`);
    const child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? '',
        AIRLOCK_SKIP_SETUP: '1',
        AIRLOCK_QUEUE: 'nats',
        AIRLOCK_NATS_URL: this.nats.url,
        AIRLOCK_BACKENDS: 'isolate',
        AIRLOCK_ISOLATE_HOSTS: '1',
        AIRLOCK_LOG_LEVEL: 'info',
        AIRLOCK_AUDIT_LOG: auditPath,
        ...this.#env,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const started: AirlockProcess = {
      name,
      child,
      auditPath,
      url: '',
      exited,
      output: () => out,
      audit: async () => {
        const text = await readFile(auditPath, 'utf8').catch(() => '');
        return text
          .split('\n')
          .slice(0, -1)
          .map((line) => JSON.parse(line));
      },
    };
    this.#processes.push(started);
    return started;
  }
}

async function waitFor(started: AirlockProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const match = pattern.exec(started.output());
    if (match) return match;
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${started.name} exited before it was ready:\n${started.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`${started.name} did not start:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts one cluster with `options` for the calling test file, then its processes (`start`, which keeps what it
 * starts), and disposes of it all after the file. Returns a getter: the cluster exists only once tests run.
 */
export function useNatsCluster(
  options: NatsClusterOptions,
  start: (cluster: NatsCluster) => Promise<void>,
): () => NatsCluster {
  let cluster: NatsCluster | undefined;
  beforeAll(async () => {
    cluster = await NatsCluster.start(options);
    await start(cluster);
  }, 180_000);
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  }, 60_000);
  return () => {
    if (!cluster) throw new Error('the NATS cluster is not started (use it inside a test)');
    return cluster;
  };
}

/** Submits javascript `code` with 60 s of wall time to the gateway at `url`; its id, once it is accepted (201). */
export async function submitJavascript(url: string, code: string): Promise<string> {
  const submitted = await call(url, 'POST', '/v1/executions', {
    language: 'javascript',
    code,
    limits: { wall_time_ms: 60_000 },
  });
  expect(submitted.status).toBe(201);
  return submitted.body.id as string;
}

/** Polls until the check passes; the test's own timeout bounds it (no wall-clock assertion). */
export async function until(check: () => Promise<boolean> | boolean, everyMs = 50): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, everyMs));
}
