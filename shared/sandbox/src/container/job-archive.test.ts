// The job archive as the runner reads it, and the output archive as it comes back: both checked with a real
// tar reader/writer, including names and entry types a hostile program would choose.

import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { TEST_LIMITS } from './container-test-env.ts';
import { buildJobArchive, JobRefused } from './job-archive.ts';
import { readOutputFiles, safeRelativePath } from './output-files.ts';

const CAPS = { maxFiles: 10, maxBytes: 1000 };

async function entriesOf(archive: Buffer) {
  const out: Array<{ name: string; type: string; body: string }> = [];
  const reader = extract();
  Readable.from([archive]).pipe(reader);
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({
      name: entry.header.name,
      type: String(entry.header.type),
      body: Buffer.concat(chunks).toString(),
    });
  }
  return out;
}

const job = {
  executionId: 'ex_archive',
  language: 'python' as const,
  code: 'print(1)',
  files: [{ path: 'data/in.txt', content: new TextEncoder().encode('payload') }],
  stdin: 'input',
  args: ['x', 'y z'],
  env: { GREETING: 'hi' },
  limits: TEST_LIMITS,
};

describe('buildJobArchive', () => {
  it('puts the files of a program with a workdir there, and runs its argv there through /bin/sh', async () => {
    const program = { file: 'main.sh', argv: ['bash', 'main.sh'], workdir: '/work/app/src' };
    const { archive } = await buildJobArchive({ ...job, language: 'bash' }, CAPS, program);
    const byName = Object.fromEntries((await entriesOf(archive)).map((e) => [e.name, e.body]));
    expect(byName['work/app/src/main.sh']).toBe('print(1)');
    expect(byName['work/app/src/data/in.txt']).toBe('payload');
    expect(byName['meta/argv']).toBe(
      '/bin/sh\0-c\0cd "$0" && exec "$@"\0/work/app/src\0env\0--\0GREETING=hi\0bash\0main.sh\0x\0y z\0',
    );
    const plain = await buildJobArchive({ ...job, language: 'bash' }, CAPS, { ...program, workdir: '/work' });
    expect((await entriesOf(plain.archive)).map((e) => e.name)).toContain('work/main.sh');
    for (const workdir of ['/etc', '/work/../etc', '/work/', 'app']) {
      await expect(buildJobArchive(job, CAPS, { ...program, workdir })).rejects.toThrow(JobRefused);
    }
  });

  it('writes meta and work entries as plain ustar files', async () => {
    const { archive, nonce } = await buildJobArchive(job, CAPS);
    expect(nonce).toMatch(/^[0-9a-f]{48}$/);
    expect(archive.subarray(257, 262).toString()).toBe('ustar');
    const entries = await entriesOf(archive);
    expect(entries.every((e) => e.type === 'file')).toBe(true);
    expect(Object.fromEntries(entries.map((e) => [e.name, e.body]))).toEqual({
      'meta/nonce': nonce,
      'meta/argv': 'env\0--\0GREETING=hi\0python3\0-I\0-u\0main.py\0x\0y z\0',
      'meta/outputs': '10 1000',
      'meta/cpu_ms': String(job.limits.cpu_time_ms),
      'meta/wall_ms': String(job.limits.wall_time_ms),
      'meta/stdin': 'input',
      'work/data/in.txt': 'payload',
      'work/main.py': 'print(1)',
    });
  });

  it('uses a fresh nonce for every job', async () => {
    const [a, b] = await Promise.all([buildJobArchive(job, CAPS), buildJobArchive(job, CAPS)]);
    expect(a.nonce).not.toBe(b.nonce);
  });

  it('refuses what the runner could not take', async () => {
    const long = `${'d'.repeat(200)}/${'f'.repeat(120)}`;
    await expect(
      buildJobArchive({ ...job, files: [{ path: long, content: new Uint8Array() }] }, CAPS),
    ).rejects.toThrow(JobRefused);
    await expect(buildJobArchive({ ...job, env: { 'BAD-NAME': 'x' } }, CAPS)).rejects.toThrow(JobRefused);
    await expect(buildJobArchive({ ...job, args: ['a\0b'] }, CAPS)).rejects.toThrow(JobRefused);
    await expect(
      buildJobArchive({ ...job, files: [{ path: 'main.py', content: new Uint8Array() }] }, CAPS),
    ).rejects.toThrow(JobRefused);
  });
});

describe('readOutputFiles', () => {
  it('returns regular files only and refuses links, devices and unsafe names', async () => {
    const tar = pack();
    tar.entry({ name: 'ok.txt' }, 'fine');
    tar.entry({ name: 'sub/', type: 'directory' });
    tar.entry({ name: 'sub/data.csv' }, 'a,b');
    tar.entry({ name: 'link', type: 'symlink', linkname: '/etc/passwd' });
    tar.entry({ name: 'hard', type: 'link', linkname: 'ok.txt' });
    tar.entry({ name: 'fifo', type: 'fifo' });
    tar.entry({ name: '../escape.txt' }, 'no');
    tar.entry({ name: '/abs.txt' }, 'no');
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    const { files, refused } = await readOutputFiles(Buffer.concat(chunks), 1000);
    expect(files).toEqual([
      { path: 'ok.txt', size: 4, encoding: 'base64', content: Buffer.from('fine').toString('base64') },
      { path: 'sub/data.csv', size: 3, encoding: 'base64', content: Buffer.from('a,b').toString('base64') },
    ]);
    expect(refused).toBe(5);
  });

  it('accepts only safe relative names', () => {
    expect(safeRelativePath('a/./b//c.txt')).toBe('a/b/c.txt');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'x\ny', '.', '']) {
      expect(safeRelativePath(bad)).toBeNull();
    }
  });
});
