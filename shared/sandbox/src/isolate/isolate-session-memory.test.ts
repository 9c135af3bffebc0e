// A JavaScript session's memory_mb bounds everything the session makes its host process hold, not only its
// isolate's heap: memory outside the heap counts, it adds up across cells, a bomb closes the session with
// memory_limit while the host stays under its cap, and each session host has its own memory cgroup that goes
// with it. Real session host processes.

import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IsolateSessionBackend } from './isolate-session-backend.ts';
import { processExists, TEST_LIMITS, watchHostMemory } from './test-jobs.ts';

const MIB = 1024 * 1024;
const MEMORY_MB = 64;
const open: IsolateSessionBackend[] = [];
let cells = 0;

afterEach(async () => {
  await Promise.all(open.splice(0).map((backend) => backend.close()));
});

async function openSession() {
  const backend = new IsolateSessionBackend();
  open.push(backend);
  const session = await backend.open({
    sessionId: `ses_memory_${open.length}`,
    language: 'javascript',
    limits: { ...TEST_LIMITS, memory_mb: MEMORY_MB },
  });
  const pid = backend.hostPid(session.id);
  if (pid === undefined) throw new Error('the session has no host');
  const cell = (code: string) => {
    cells += 1;
    return session.run(
      { executionId: `exe_cell_${cells}`, code, files: [], stdin: '', limits: TEST_LIMITS },
      { signal: new AbortController().signal, onOutput: () => {} },
    );
  };
  return { backend, session, pid, cell };
}

describe('IsolateSessionBackend holds a session to its memory_mb as a whole', () => {
  it('closes the session with memory_limit on a WebAssembly bomb, its host under its cap', async () => {
    const { backend, session, pid, cell } = await openSession();
    const bomb = [
      'const keep = [];',
      'for (;;) { const m = new WebAssembly.Memory({ initial: 160 }); new Uint8Array(m.buffer).fill(1); keep.push(m); }',
    ].join('\n');
    const {
      value: result,
      peak,
      cap,
    } = await watchHostMemory(
      pid,
      () => backend.hostMemoryCap(session.id)?.capBytes,
      () => cell(bomb),
    );
    expect(result.outcome).toBe('memory_limit');
    expect(result.reason).toMatch(new RegExp(`^memory limit of ${MEMORY_MB} MB exceeded`));
    expect(Number.isFinite(cap)).toBe(true);
    expect(peak).toBeLessThanOrEqual(cap);
    expect(await session.ended).toBe('memory_limit');
    expect(processExists(pid)).toBe(false);
  });

  it('adds up what cells keep: the third 32 MiB WebAssembly memory goes over 64 MB', async () => {
    const { session, cell } = await openSession();
    const keep = [
      'globalThis.kept ??= [];',
      '{ const m = new WebAssembly.Memory({ initial: 512 }); new Uint8Array(m.buffer).fill(1); kept.push(m); }',
      'kept.length',
    ].join('\n');
    const first = await cell(keep);
    const second = await cell(keep);
    expect(first).toMatchObject({ outcome: 'success', value: { 'text/plain': '1' } });
    expect(second).toMatchObject({ outcome: 'success', value: { 'text/plain': '2' } });
    expect(first.usage.memory_peak_bytes ?? 0).toBeGreaterThanOrEqual(30 * MIB);
    expect(second.usage.memory_peak_bytes ?? 0).toBeGreaterThanOrEqual(62 * MIB);
    const third = await cell(keep);
    expect(third.outcome).toBe('memory_limit');
    expect(await session.ended).toBe('memory_limit');
  });

  it('gives the session host its own memory cgroup and removes it when the session closes', async () => {
    const { backend, session, pid, cell } = await openSession();
    const cap = backend.hostMemoryCap(session.id);
    const cgroup = cap?.cgroup ?? '';
    expect(cgroup).toBe(`/sys/fs/cgroup/memory/airlock/isolate-${process.pid}-${pid}`);
    expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(
      `:memory:/airlock/isolate-${process.pid}-${pid}\n`,
    );
    const limit = Number(readFileSync(`${cgroup}/memory.limit_in_bytes`, 'utf8'));
    // The kernel's limit sits inside the cap the parent's watchdog holds the host to.
    expect(limit).toBeLessThanOrEqual(cap?.capBytes ?? 0);
    expect((await cell('1 + 1')).outcome).toBe('success');
    await session.close();
    expect(processExists(pid)).toBe(false);
    expect(existsSync(cgroup)).toBe(false);
  });
});
