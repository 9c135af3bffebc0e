// A start that fails at a late step releases everything the earlier steps acquired, on every path that builds
// a service in this process: the embedded service (failure injected by its start-up check once every part
// runs: isolate hosts, warm pools under runc and runsc, the egress network, firewall and proxy, sessions, the
// server), the scaled gateway and the worker (a nats-server without JetStream: the queue, opened after the
// audit log, the NATS connection and — for the worker — egress and sandboxes, refuses), and the standalone
// egress proxy (no nats-server where its NATS URL points, after its network, proxy and firewall are up).
// Afterwards: the audit lock is free (a second start on the same log works), no container or network of this
// process is left, no firewall rule of its egress network, no child process, no NATS connection.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '@airlock/config';
import { startStandaloneEgress } from '@airlock/egress-proxy';
import { startEmbedded, startScaled } from '@airlock/gateway';
import { createLogger, type Logger } from '@airlock/logging';
import { freePort, type NatsServer, startNatsServer } from '@airlock/testing';
import { startWorker } from '@airlock/worker';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditLockHeld,
  childrenOf,
  dockerObjectsOf,
  egressNetworksIn,
  firewallRulesOf,
  natsClients,
  ownerOf,
} from './support/leftovers.ts';

const SLOW = 300_000;
const OWNER = ownerOf(process.pid);
const INJECTED = 'injected start-up failure';

let dir: string;
let auditPath: string;
let nats: NatsServer;
let monitorPort: number;
let logs: string[];
let logger: Logger;
let childrenBefore: string[];

beforeAll(async () => {
  // No JetStream: the queue (opened after the audit log, the connection, egress and sandboxes) refuses.
  monitorPort = await freePort();
  nats = await startNatsServer({ args: ['-m', String(monitorPort)] });
}, SLOW);

afterAll(async () => {
  await nats?.[Symbol.asyncDispose]();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-startup-cleanup-'));
  auditPath = join(dir, 'audit.jsonl');
  logs = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  logger = createLogger({ level: 'info', destination });
  childrenBefore = childrenOf(process.pid);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(env: Record<string, string>): Config {
  return loadConfig({
    AIRLOCK_PORT: '0',
    AIRLOCK_AUDIT_LOG: auditPath,
    AIRLOCK_BACKENDS: 'isolate',
    AIRLOCK_ISOLATE_HOSTS: '1',
    AIRLOCK_POOL_SIZE: '1',
    AIRLOCK_NATS_URL: nats.url,
    ...env,
  });
}

const WITH_EVERYTHING = { AIRLOCK_BACKENDS: 'isolate,docker,gvisor', AIRLOCK_EGRESS: 'on' };

/** Children of this process that were not there before the test. */
const newChildren = () => childrenOf(process.pid).filter((child) => !childrenBefore.includes(child));

/** Nothing of this process is left in Docker or the firewall, and no child of it is left running. */
async function expectNothingLeft(egressNetworks: readonly string[]): Promise<void> {
  // A container another service's start-up reaper is removing right now gets a moment to go.
  await expect
    .poll(() => dockerObjectsOf(OWNER), { timeout: 30_000, interval: 200 })
    .toEqual({ containers: [], networks: [] });
  expect(await firewallRulesOf(egressNetworks)).toEqual([]);
  await expect.poll(newChildren, { timeout: 30_000, interval: 100 }).toEqual([]);
}

/** The audit log is free again: a second start on it works (embedded, isolate only) and closes. */
async function expectAuditLogFree(): Promise<void> {
  expect(auditLockHeld(auditPath)).toBe(false);
  const again = await startEmbedded(config({}), logger);
  expect(auditLockHeld(auditPath)).toBe(true);
  await again.close();
  expect(auditLockHeld(auditPath)).toBe(false);
}

/** The NATS server has no client of the failed start left, and its audit log is free. */
async function expectNatsAndAuditReleased(): Promise<void> {
  await expect.poll(() => natsClients(monitorPort), { timeout: 30_000 }).toEqual([]);
  await expectAuditLogFree();
}

describe('a failed start releases everything it had started', () => {
  it(
    'embedded: isolate hosts, warm pools (runc, runsc), egress network + firewall + proxy, sessions, audit log',
    async () => {
      const seen = { children: [] as string[], containers: [] as string[], networks: [] as string[] };
      let rules: string[] = [];
      const start = startEmbedded(config(WITH_EVERYTHING), logger, {
        startupCheck: async () => {
          // Everything is up: record it, so the test shows what the failed start had to release.
          await expect
            .poll(() => dockerObjectsOf(OWNER).containers.length, { timeout: 120_000, interval: 250 })
            .toBeGreaterThan(0);
          ({ containers: seen.containers, networks: seen.networks } = dockerObjectsOf(OWNER));
          seen.children = newChildren();
          rules = await firewallRulesOf(seen.networks);
          throw new Error(INJECTED);
        },
      });
      await expect(start).rejects.toThrow(INJECTED);
      expect(seen.children.length).toBeGreaterThan(0);
      expect(seen.networks).toHaveLength(1);
      expect(seen.networks).toEqual(egressNetworksIn(logs.join('')));
      expect(rules.length).toBeGreaterThan(0);
      await expectNothingLeft(seen.networks);
      await expectAuditLogFree();
    },
    SLOW,
  );

  it(
    'worker: audit log, NATS connection, egress network + firewall + proxy, isolate hosts, warm pools',
    async () => {
      await expect(startWorker(config(WITH_EVERYTHING), logger)).rejects.toThrow('jetstream is not enabled');
      const networks = egressNetworksIn(logs.join(''));
      expect(networks).toHaveLength(1);
      await expectNothingLeft(networks);
      await expectNatsAndAuditReleased();
    },
    SLOW,
  );

  it(
    'scaled gateway: audit log and NATS connection',
    async () => {
      await expect(startScaled(config({ AIRLOCK_QUEUE: 'nats' }), logger)).rejects.toThrow(
        'jetstream is not enabled',
      );
      await expectNatsAndAuditReleased();
    },
    SLOW,
  );

  it(
    'standalone egress proxy: egress network, firewall and proxy when NATS cannot be reached',
    async () => {
      const unreachable = `nats://127.0.0.1:${await freePort()}`;
      const start = startStandaloneEgress(config({ AIRLOCK_NATS_URL: unreachable }), logger);
      await expect(start).rejects.toThrow();
      const networks = egressNetworksIn(logs.join(''));
      expect(networks).toHaveLength(1);
      await expectNothingLeft(networks);
    },
    SLOW,
  );
});
