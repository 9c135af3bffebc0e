// The embedded service as its own process (`node services/gateway/src/main.ts`), for tests that kill it, restart
// it on the same data, or measure it from outside: start with AIRLOCK_* variables, wait for its address, read
// its output, its children and its resident memory (after a full garbage collection asked for over the
// inspector protocol, on loopback). Never leaves a process behind: stopAll() kills what is left.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { rssAfterGc as processRssAfterGc } from '@airlock/testing';

const MAIN = join(import.meta.dirname, '..', '..', 'services', 'gateway', 'src', 'main.ts');
const started: ChildProcess[] = [];

export interface ServiceChild {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
  /** Resolves with the base URL once the service logs that it listens (at level info, the default here). */
  listening(): Promise<string>;
  output(): string;
}

export function startServiceChild(
  env: Record<string, string>,
  /** Opens the V8 inspector on a free loopback port, for collectGarbage(). */
  options: { inspect?: boolean } = {},
): ServiceChild {
  const flags = options.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const child = spawn(process.execPath, [...flags, MAIN], {
    env: { PATH: process.env.PATH ?? '', AIRLOCK_LOG_LEVEL: 'info', AIRLOCK_SKIP_SETUP: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = async () => {
    for (;;) {
      const match = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (match) return match[1]!;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`service exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, pid: child.pid!, exited, listening, output: () => out };
}

/** Kills every service child still running (afterEach / afterAll). */
export async function stopAll(): Promise<void> {
  const running = started.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Runs two full garbage collections in a child started with `inspect`, then answers its resident memory. */
export async function rssAfterGc(service: ServiceChild): Promise<number> {
  const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(service.output())?.[1];
  if (!url) throw new Error('the service was not started with its inspector open');
  return processRssAfterGc(service.pid, url);
}

/** Pids of the direct children of a process (its isolate hosts). */
export function childPids(pid: number): number[] {
  let text = '';
  try {
    text = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is none
  }
  return text
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
}

export { processAlive } from '@airlock/testing';
