import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inputFile, outputFilePath, readInputFile, writeOutputFiles } from './files.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-client-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = (path: string, text: string) => ({
  path,
  size: Buffer.byteLength(text),
  encoding: 'base64' as const,
  content: Buffer.from(text).toString('base64'),
});

describe('output files', () => {
  it('writes files and folders under the folder, replacing earlier ones', async () => {
    const out = join(dir, 'out');
    await writeOutputFiles([file('a.txt', 'old')], out);
    const written = await writeOutputFiles([file('a.txt', 'new'), file('plots/b.csv', '1,2')], out);
    expect(written).toEqual([join(out, 'a.txt'), join(out, 'plots', 'b.csv')]);
    expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('new');
    expect(await readFile(join(out, 'plots', 'b.csv'), 'utf8')).toBe('1,2');
  });

  it('refuses any path that would leave the folder, before writing anything', async () => {
    for (const path of ['../x', 'a/../../x', '/etc/x', 'a//b', './a', 'a/./b', 'a\\..\\x', '', 'a\0b']) {
      expect(outputFilePath(dir, path), path).toBeUndefined();
    }
    expect(outputFilePath(dir, 'a/b.txt')).toBe(join(dir, 'a', 'b.txt'));
    await expect(
      writeOutputFiles([file('fine.txt', '1'), file('../escape.txt', '2')], join(dir, 'out')),
    ).rejects.toThrow(`refusing to write output file '../escape.txt' outside ${join(dir, 'out')}`);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('input files', () => {
  it('sends text as utf8 and bytes as base64', () => {
    expect(inputFile('a.txt', 'héllo')).toEqual({ path: 'a.txt', content: 'héllo', encoding: 'utf8' });
    expect(inputFile('b.bin', new Uint8Array([0, 255]))).toEqual({
      path: 'b.bin',
      content: 'AP8=',
      encoding: 'base64',
    });
  });

  it('keeps a relative path below the current folder, else takes the file name', async () => {
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'a.csv'), 'x\n');
    expect(await readInputFile(join(dir, 'data', 'a.csv'))).toEqual({
      path: 'a.csv',
      content: 'eAo=',
      encoding: 'base64',
    });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await readInputFile('data/a.csv')).path).toBe('data/a.csv');
      expect((await readInputFile('./data/a.csv')).path).toBe('data/a.csv');
      expect((await readInputFile('data/../data/a.csv')).path).toBe('a.csv');
      expect((await readInputFile('data/a.csv', 'input.csv')).path).toBe('input.csv');
    } finally {
      process.chdir(cwd);
    }
  });
});
