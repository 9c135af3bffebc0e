// A service log that cannot be written never hangs a service: the real processes, as an operator starts them,
// with stdout on a full disk (a small tmpfs, filled) or a pipe whose reader is gone. The gateway keeps serving
// (a job succeeds, /metrics counts the dropped lines in airlock_log_write_errors_total), the worker keeps
// running jobs, the standalone egress proxy keeps answering, and SIGTERM ends each with exit code 0 well
// within a bound of the shutdown grace plus a generous allowance for a loaded machine (a hang detector,
// not a speed assertion). The stdio MCP server, which logs to stderr, keeps serving with stderr on /dev/full.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, statfsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@airlock/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dockerObjectsOf, firewallRulesOf, ownerOf } from './support/leftovers.ts';
import { MCP_MAIN, MCP_TOOLS, REPO_ROOT } from './support/mcp.ts';
import { NatsCluster } from './support/nats-cluster.ts';
import { call } from './support/service.ts';

const ROOT = join(import.meta.dirname, '..');
const GATEWAY_MAIN = join(ROOT, 'services', 'gateway', 'src', 'main.ts');
const WORKER_MAIN = join(ROOT, 'services', 'worker', 'src', 'main.ts');
const EGRESS_PROXY_MAIN = join(ROOT, 'services', 'egress-proxy', 'src', 'main.ts');
const SLOW = 300_000;
const GRACE_MS = 2_000;
/** Grace plus room for a loaded machine: past this, the process is taken to hang. */
const EXIT_BOUND_MS = GRACE_MS + 90_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let fullDisk: string;
let mounted = false;
const children: Array<ReturnType<typeof spawn>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-log-failure-'));
  fullDisk = join(dir, 'full');
  await mkdir(fullDisk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', fullDisk]);
  mounted = true;
  await writeFile(join(fullDisk, 'filler'), Buffer.alloc(256 * 1024)).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  });
  if (statfsSync(fullDisk).bavail !== 0) throw new Error(`${fullDisk} is not full`);
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  if (mounted) {
    try {
      execFileSync('umount', [fullDisk]);
    } catch {
      execFileSync('umount', ['-l', fullDisk]); // a process that still holds a file there is being killed
    }
  }
  await rm(dir, { recursive: true, force: true });
});

type Stdout = { file: string } | 'closed pipe';

/** Starts `main` with `stdout` as given; stderr is kept for failure messages. */
function startProcess(main: string, stdout: Stdout, env: Record<string, string>) {
  const fd = stdout === 'closed pipe' ? 'pipe' : openSync(stdout.file, 'w');
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      AIRLOCK_SKIP_SETUP: '1',
      AIRLOCK_LOG_LEVEL: 'info',
      AIRLOCK_BACKENDS: 'isolate',
      AIRLOCK_ISOLATE_HOSTS: '1',
      AIRLOCK_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      ...env,
    },
    stdio: ['ignore', fd, 'pipe'],
  });
  children.push(child);
  if (typeof fd === 'number') closeSync(fd);
  else child.stdout!.destroy(); // the reader is gone before the process writes its first line
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => {
      timer = setTimeout(() => resolve('hang'), EXIT_BOUND_MS);
    });
    const result = await Promise.race([exited, hang]);
    clearTimeout(timer);
    if (result === 'hang') throw new Error(`${main} did not exit after SIGTERM; stderr:\n${stderr}`);
    return result;
  };
  return { child, exited, stop, stderr: () => stderr };
}

/** Polls until the gateway on `port` is ready; fails if the process exits first. */
async function ready(port: number, service: ReturnType<typeof startProcess>): Promise<string> {
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (service.child.exitCode !== null) throw new Error(`the gateway exited: ${service.stderr()}`);
    const answer = await fetch(`${url}/readyz`).catch(() => undefined);
    if (answer?.status === 200) return url;
    await pause(200);
  }
}

async function logWriteErrors(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^airlock_log_write_errors_total (\d+)$/m.exec(text);
  if (!match) throw new Error(`no airlock_log_write_errors_total in /metrics:\n${text}`);
  return Number(match[1]);
}

/** Submits a javascript job and waits (polling past ?wait) until it finished with `text` on stdout. */
async function expectJobSucceeds(url: string, text: string): Promise<void> {
  const submitted = await call(url, 'POST', '/v1/executions?wait=30', {
    language: 'javascript',
    code: `console.log(${JSON.stringify(text)})`,
  });
  expect([201, 202]).toContain(submitted.status);
  let execution = submitted.body;
  while (execution.status !== 'finished') {
    await pause(200);
    execution = (await call(url, 'GET', `/v1/executions/${submitted.body.id}`)).body;
  }
  expect(execution.result).toMatchObject({ outcome: 'success', stdout: `${text}\n` });
}

describe('the gateway process with an unwritable stdout', () => {
  for (const stdout of ['full disk', 'closed pipe'] as const) {
    it(
      `keeps serving, counts the dropped lines and exits 0 on SIGTERM (${stdout})`,
      async () => {
        const port = await freePort();
        const logFile = join(fullDisk, 'gateway.log');
        const gateway = startProcess(GATEWAY_MAIN, stdout === 'full disk' ? { file: logFile } : stdout, {
          AIRLOCK_PORT: String(port),
          AIRLOCK_AUDIT_LOG: join(dir, `gateway-${port}.audit.jsonl`),
        });
        const url = await ready(port, gateway);
        await expectJobSucceeds(url, 'served');
        expect(await logWriteErrors(url)).toBeGreaterThan(0);
        expect(await gateway.stop()).toBe(0);
        if (stdout === 'full disk') expect(statSync(logFile).size).toBe(0);
      },
      SLOW,
    );
  }
});

describe('the processes of a NATS deployment with an unwritable stdout', () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await NatsCluster.start();
  }, SLOW);
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it(
    'a worker whose stdout reader is gone runs jobs and exits 0 on SIGTERM',
    async () => {
      const gateway = await cluster.gateway();
      const worker = startProcess(WORKER_MAIN, 'closed pipe', {
        AIRLOCK_QUEUE: 'nats',
        AIRLOCK_NATS_URL: cluster.nats.url,
        AIRLOCK_AUDIT_LOG: join(dir, 'worker.audit.jsonl'),
      });
      await expectJobSucceeds(gateway.url, 'run by the worker');
      expect(await worker.stop()).toBe(0);
    },
    SLOW,
  );

  it(
    'a standalone egress proxy whose stdout is on a full disk answers, exits 0 on SIGTERM and removes its network',
    async () => {
      const proxyId = `log-failure-${process.pid}`;
      const proxy = startProcess(
        EGRESS_PROXY_MAIN,
        { file: join(fullDisk, 'egress-proxy.log') },
        { AIRLOCK_NATS_URL: cluster.nats.url, AIRLOCK_EGRESS_PROXY_ID: proxyId },
      );
      const nc = await cluster.connect();
      let network = '';
      while (!network) {
        if (proxy.child.exitCode !== null) throw new Error(`the egress proxy exited: ${proxy.stderr()}`);
        const reply = await nc
          .request(`airlock.egress.${proxyId}.info`, '', { timeout: 1_000 })
          .catch(() => null);
        network = reply ? (reply.json() as { network: string }).network : '';
        if (!network) await pause(200);
      }
      expect(network).toMatch(/^airlock-egress-[0-9a-f]+$/);
      expect(await proxy.stop()).toBe(0);
      expect(dockerObjectsOf(ownerOf(proxy.child.pid!)).networks).toEqual([]);
      expect(await firewallRulesOf([network])).toEqual([]);
    },
    SLOW,
  );
});

describe('the stdio MCP server with stderr on a full disk', () => {
  it('keeps answering after its log lines fail (start-up line, a failed tool call)', async () => {
    const stderr = openSync('/dev/full', 'w');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_MAIN],
      // Nothing listens there: list_runtimes fails, and the server logs the failure.
      env: { PATH: process.env.PATH ?? '', AIRLOCK_URL: `http://127.0.0.1:${await freePort()}` },
      cwd: REPO_ROOT,
      stderr,
    });
    const client = new Client({ name: 'airlock-test', version: '0.0.0' });
    try {
      await client.connect(transport);
      const failed = await client.callTool({ name: 'list_runtimes', arguments: {} });
      expect(failed.isError).toBe(true);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual([...MCP_TOOLS].sort());
    } finally {
      await client.close();
      closeSync(stderr);
    }
  });
});
