// Reads a running service process from outside, for the soak: resident memory (/proc), the same after a full
// garbage collection asked for over its V8 inspector (loopback), open file descriptors, the containers it owns
// (label airlock.owner) and the bytes its store occupies on disk. Reads only; changes nothing but the GC.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export function rssBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kib) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib[1]) * 1024;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function ownedContainers(pid: number): number {
  const label = `airlock.owner=${hostname()}:${pid}`;
  return execFileSync('docker', ['ps', '-a', '-q', '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.length > 0).length;
}

/** Bytes of the files in a folder (the store: database and write-ahead log). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}

/** Two full garbage collections through the inspector at `url` (ws://127.0.0.1:…), then the resident memory. */
export async function rssAfterGc(pid: number, url: string): Promise<number> {
  const socket = new WebSocket(url);
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
