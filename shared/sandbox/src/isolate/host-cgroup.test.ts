// The hosts' memory cgroups on this machine's real cgroup v1 hierarchy: the kernel kills a process that goes
// over its group's limit and says so, groups left by a dead service are swept at start-up (never one whose
// owner lives), and where no group can be made the sandbox says why and still ends memory bombs with
// memory_limit. Real processes, real cgroups under /sys/fs/cgroup/memory/airlock.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_CGROUP, MemoryCgroups } from './host-cgroup.ts';
import { IsolateSandbox } from './isolate-sandbox.ts';
import { runJob } from './test-jobs.ts';

const MIB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startNode(code: string) {
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  if (child.pid === undefined) throw new Error('could not start node');
  return { pid: child.pid, exited };
}

describe('MemoryCgroups on the machine’s cgroup v1 hierarchy', () => {
  it('lets the kernel kill a process over its group’s limit, counts the kill, and removes the group', async () => {
    const cgroups = MemoryCgroups.open(DEFAULT_MEMORY_CGROUP);
    expect(cgroups.unavailable).toBeNull();
    const hog = startNode('const keep = []; for (;;) keep.push(Buffer.alloc(1 << 20, 1));');
    const group = cgroups.attach(hog.pid, 160 * MIB);
    if (group === null) throw new Error('no cgroup for the process');
    expect(group.path).toBe(join(DEFAULT_MEMORY_CGROUP, `isolate-${process.pid}-${hog.pid}`));
    expect(await hog.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(group.oomKills()).toBe(1);
    expect(await group.remove()).toBe(true);
    expect(existsSync(group.path)).toBe(false);
  });

  it('sweeps the empty groups of a service that is gone, and keeps those of one that lives', async () => {
    const gone = startNode('');
    await gone.exited;
    const leftover = join(DEFAULT_MEMORY_CGROUP, `isolate-${gone.pid}-1`);
    const alive = join(DEFAULT_MEMORY_CGROUP, 'isolate-1-1');
    MemoryCgroups.open(DEFAULT_MEMORY_CGROUP);
    mkdirSync(leftover);
    mkdirSync(alive);
    cleanups.push(() => {
      for (const path of [leftover, alive]) if (existsSync(path)) rmdirSync(path);
    });
    expect(MemoryCgroups.open(DEFAULT_MEMORY_CGROUP).unavailable).toBeNull();
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(alive)).toBe(true);
  });

  it('says why a path that is no memory cgroup cannot be used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-cgroup-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    expect(MemoryCgroups.open(join(dir, 'airlock')).unavailable).toBe(
      `${dir} is not a cgroup v1 memory hierarchy`,
    );
  });
});

describe('IsolateSandbox where no memory cgroup can be made', () => {
  it('logs why, runs its hosts without one, and still ends a memory bomb with memory_limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-cgroup-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const warnings: Array<{ obj: object; msg: string }> = [];
    const logger = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }), error: () => {} };
    const sandbox = new IsolateSandbox({ hosts: 1, memoryCgroup: join(dir, 'airlock'), logger });
    cleanups.push(() => sandbox.close());
    await sandbox.start();
    expect(warnings).toEqual([
      {
        obj: { reason: `${dir} is not a cgroup v1 memory hierarchy` },
        msg: 'isolate hosts run without a memory cgroup: only the watchdog on their resident memory caps them',
      },
    ]);
    expect(sandbox.memoryCgroup).toBeNull();
    const [pid] = sandbox.hostPids();
    expect(sandbox.hostMemoryCap(pid ?? 0)?.cgroup).toBeNull();
    const bomb = [
      'const keep = [];',
      'for (;;) { const m = new WebAssembly.Memory({ initial: 160 }); new Uint8Array(m.buffer).fill(1); keep.push(m); }',
    ].join('\n');
    const { result } = await runJob(sandbox, { code: bomb, limits: { memory_mb: 64 } });
    expect(result.outcome).toBe('memory_limit');
    expect(result.reason).toMatch(/^memory limit of 64 MB exceeded/);
    // One native call filling 1 GiB cannot be interrupted inside the host; the parent's watchdog kills it.
    const fill = 'new Uint8Array(new WebAssembly.Memory({ initial: 16384 }).buffer).fill(1);';
    const filled = await runJob(sandbox, { code: fill, limits: { memory_mb: 64 } });
    expect(filled.result.outcome).toBe('memory_limit');
    expect(filled.result.reason).toMatch(
      /^memory limit of 64 MB exceeded; the isolate host process held more than its cap of \d+ MB and was killed$/,
    );
    const next = await runJob(sandbox, { code: 'console.log("next")' });
    expect(next.result).toMatchObject({ outcome: 'success', stdout: 'next\n' });
  });

  it('makes no cgroup and logs nothing when turned off', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_obj: object, msg: string) => warnings.push(msg), error: () => {} };
    const sandbox = new IsolateSandbox({ hosts: 1, memoryCgroup: null, logger });
    cleanups.push(() => sandbox.close());
    await sandbox.start();
    const [pid] = sandbox.hostPids();
    expect(sandbox.hostMemoryCap(pid ?? 0)?.cgroup).toBeNull();
    expect(warnings).toEqual([]);
  });
});
