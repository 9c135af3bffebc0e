// Reads a running process from outside, for tests and the benchmark's soak: whether it still exists, its
// resident memory (/proc), the same after two full garbage collections asked for over its V8 inspector (on loopback), its open file
// descriptors, and the containers it owns (label `airlock.owner`). Changes nothing but the garbage collections.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** True while a process with this pid exists and may be signalled (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of a process in bytes. */
export function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kib) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib[1]) * 1024;
}

/** Two full garbage collections through the inspector at `inspectorUrl` (ws://127.0.0.1:…), then rssBytes. */
export async function rssAfterGc(pid: number, inspectorUrl: string): Promise<number> {
  const socket = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  try {
    let id = 0;
    const send = (method: string) =>
      new Promise<void>((resolve) => {
        const mine = ++id;
        socket.addEventListener('message', function answer(message) {
          if (JSON.parse(String(message.data)).id !== mine) return;
          socket.removeEventListener('message', answer);
          resolve();
        });
        socket.send(JSON.stringify({ id: mine, method }));
      });
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.collectGarbage');
  } finally {
    socket.close();
  }
  return rssBytes(pid);
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** `docker ps -a` ids of the containers the process with this pid owns. */
export function containersOwnedBy(pid: number): string[] {
  const label = `airlock.owner=${hostname()}:${pid}`;
  return execFileSync('docker', ['ps', '-a', '-q', '--no-trunc', '--filter', `label=${label}`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((line) => line.length > 0);
}
