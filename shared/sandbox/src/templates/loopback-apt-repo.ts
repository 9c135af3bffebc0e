// For tests only: a Debian package built on the spot with dpkg-deb and served as a flat apt repository over
// HTTP on 127.0.0.1, so a template build installs a real package without any traffic leaving the machine.
// It must never listen beyond loopback; close() stops the server and removes its folder.

import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface LoopbackAptRepo {
  /** The sources.list line for it (`deb [trusted=yes] http://127.0.0.1:PORT/ ./`). */
  source: string;
  close(): Promise<void>;
}

/** Serves one package `name` 1.0 whose /usr/bin/`name` prints `output`. */
export async function startLoopbackAptRepo(name: string, output: string): Promise<LoopbackAptRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-apt-'));
  const pkg = join(dir, 'pkg');
  await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
  await mkdir(join(pkg, 'usr', 'bin'), { recursive: true });
  await writeFile(
    join(pkg, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Airlock tests <tests@localhost>\nDescription: test package\n`,
  );
  await writeFile(join(pkg, 'usr', 'bin', name), `#!/bin/sh\necho '${output}'\n`);
  await chmod(join(pkg, 'usr', 'bin', name), 0o755);
  const repo = join(dir, 'repo');
  await mkdir(repo);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', pkg, join(repo, `${name}_1.0_all.deb`)], {
    stdio: 'ignore',
  });
  const packages = execFileSync('dpkg-scanpackages', ['.', '/dev/null'], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await writeFile(join(repo, 'Packages'), packages);
  const server = createServer((req, res) => {
    const file = basename(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
    readFile(join(repo, file)).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    source: `deb [trusted=yes] http://127.0.0.1:${port}/ ./`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
