// The service as an operator starts it (`node services/gateway/src/main.ts`), failing at its very last
// start-up step: the port it must listen on is taken. Everything it had started — isolate host processes, warm
// pools under runc and runsc, the egress network with its firewall and proxy, the audit log's lock, the NATS
// connection of a scaled gateway — is released before it exits 1: nothing of its process group is left, no
// container or network carrying its `airlock.owner` label, no firewall rule of its egress network. A SIGTERM
// that arrives while it starts is honoured once the start is done: the same release, exit 0.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type NatsServer, startNatsServer } from '@airlock/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditLockHeld,
  dockerObjectsOf,
  egressNetworksIn,
  firewallRulesOf,
  natsClients,
  ownerOf,
  processGroup,
} from './support/leftovers.ts';

const MAIN = join(import.meta.dirname, '..', 'services', 'gateway', 'src', 'main.ts');
const SLOW = 300_000;

let dir: string;
let taken: Server;
let takenPort: number;
let nats: NatsServer;
let monitorPort: number;
const started: ChildProcess[] = [];

beforeAll(async () => {
  monitorPort = await freePort();
  nats = await startNatsServer({ jetstream: true, args: ['-m', String(monitorPort)] });
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
}, SLOW);

afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  await nats?.[Symbol.asyncDispose]();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-startup-process-'));
});

afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the service in its own process group until it exits; resolves with its exit code and output.
 * `whileStarting` runs once its first log line is out (the start goes on meanwhile).
 */
async function runUntilExit(env: Record<string, string>, whileStarting?: (child: ChildProcess) => void) {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      AIRLOCK_SKIP_SETUP: '1',
      AIRLOCK_LOG_LEVEL: 'info',
      AIRLOCK_PORT: String(takenPort),
      AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: whatever it starts can be found after it is gone
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  if (whileStarting) child.stdout!.once('data', () => whileStarting(child));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { pid: child.pid!, code, output };
}

/**
 * What an embedded service with containers and egress started is gone: its one egress network and that
 * network's firewall rules, its containers, its process group and its audit lock.
 */
async function expectEverythingReleased(run: { pid: number; output: string }): Promise<void> {
  const networks = egressNetworksIn(run.output);
  expect(networks).toHaveLength(1);
  expect(await firewallRulesOf(networks)).toEqual([]);
  expect(dockerObjectsOf(ownerOf(run.pid))).toEqual({ containers: [], networks: [] });
  await expect.poll(() => processGroup(run.pid), { timeout: 30_000 }).toEqual([]);
  expect(auditLockHeld(join(dir, 'audit.jsonl'))).toBe(false);
}

describe('the service process, failing or stopped during its start', () => {
  it(
    'embedded, with containers and egress, port taken: releases everything and exits 1',
    async () => {
      const run = await runUntilExit({
        AIRLOCK_BACKENDS: 'isolate,docker,gvisor',
        AIRLOCK_POOL_SIZE: '1',
        AIRLOCK_EGRESS: 'on',
      });
      expect(run.code, run.output).toBe(1);
      expect(run.output).toContain('EADDRINUSE');
      expect(run.output).toContain('start failed; what it had started is released');
      await expectEverythingReleased(run);
    },
    SLOW,
  );

  it(
    'scaled on NATS, port taken: releases its audit lock and NATS connection and exits 1',
    async () => {
      const run = await runUntilExit({ AIRLOCK_QUEUE: 'nats', AIRLOCK_NATS_URL: nats.url });
      expect(run.code, run.output).toBe(1);
      expect(run.output).toContain('EADDRINUSE');
      expect(run.output).toContain('gateway on NATS, no local workers');
      expect(auditLockHeld(join(dir, 'audit.jsonl'))).toBe(false);
      await expect.poll(() => natsClients(monitorPort), { timeout: 30_000 }).toEqual([]);
      expect(processGroup(run.pid)).toEqual([]);
    },
    SLOW,
  );

  it(
    'embedded, stopped by SIGTERM while it starts: finishes the start, releases everything and exits 0',
    async () => {
      const run = await runUntilExit(
        {
          AIRLOCK_PORT: '0',
          AIRLOCK_BACKENDS: 'isolate,docker,gvisor',
          AIRLOCK_POOL_SIZE: '1',
          AIRLOCK_EGRESS: 'on',
        },
        (child) => child.kill('SIGTERM'),
      );
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain('"signal":"SIGTERM"');
      await expectEverythingReleased(run);
    },
    SLOW,
  );
});
