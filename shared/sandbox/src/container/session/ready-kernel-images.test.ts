// ReadyKernelImages on a real folder, with a make that writes image bytes as runsc would (Docker-free; the real
// make is exercised by test/sessions-ready-snapshot.test.ts): the first take makes the image in the background and
// answers none; later takes answer it verified; a changed or truncated image is never answered — dropped and made
// again; a failed make is not retried at once; at most MAX_READY_IMAGES are kept, the oldest going first.

import { mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_READY_IMAGES,
  type MakeReadyImage,
  type ReadyImageKey,
  ReadyKernelImages,
} from './ready-kernel-images.ts';
import { CHECKPOINT_FILE } from './runsc-checkpoint.ts';

const KERNEL = { key: 'ab'.repeat(32), turn: 1 };
let root = '';
afterEach(() => rm(root, { recursive: true, force: true }));

const key = (memoryMb = 128): ReadyImageKey => ({
  image: 'airlock-python:0123456789ab',
  runtime: 'runsc',
  memoryMb,
});

/** A make that writes `bytes` as the image and counts its calls. */
function maker(bytes = 'image bytes'): MakeReadyImage & { calls: number } {
  const make = Object.assign(
    async (folder: string) => {
      make.calls += 1;
      await writeFile(join(folder, CHECKPOINT_FILE), bytes);
      return KERNEL;
    },
    { calls: 0 },
  );
  return make;
}

/** Takes `key` until an image is answered (the background make finished). */
async function settled(images: ReadyKernelImages, k: ReadyImageKey, make: MakeReadyImage) {
  for (let i = 0; i < 200; i++) {
    const image = await images.take(k, make);
    if (image !== undefined) return image;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no ready image');
}

describe('ReadyKernelImages', () => {
  it('makes the image once in the background, then answers it verified, owner-only', async () => {
    root = await mkdtemp(join(tmpdir(), 'airlock-ready-unit-'));
    const images = new ReadyKernelImages({ root: join(root, 'ready') });
    const make = maker();
    expect(await images.take(key(), make)).toBeUndefined();
    const image = await settled(images, key(), make);
    expect(make.calls).toBe(1);
    expect(image).toEqual({
      folder: join(root, 'ready', 'airlock-python_0123456789ab-runsc-128mb'),
      kernel: KERNEL,
    });
    expect((await stat(join(root, 'ready'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(image.folder, CHECKPOINT_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(join(image.folder, 'meta.json'))).mode & 0o777).toBe(0o600);
    await images.close();
  });

  it('never answers a changed or truncated image: it is dropped and made again', async () => {
    root = await mkdtemp(join(tmpdir(), 'airlock-ready-unit-'));
    const images = new ReadyKernelImages({ root });
    const make = maker('0123456789');
    const image = await settled(images, key(), make);
    const file = join(image.folder, CHECKPOINT_FILE);
    await writeFile(file, '0123456789'.replace('5', 'X'));
    expect(await images.take(key(), make)).toBeUndefined();
    await settled(images, key(), make);
    expect(make.calls).toBe(2);
    await truncate(file, 3);
    expect(await images.take(key(), make)).toBeUndefined();
    expect(await readFile(file, 'utf8').catch(() => 'gone')).not.toBe('012');
    await settled(images, key(), make);
    expect(make.calls).toBe(3);
    await images.close();
  });

  it('does not retry a failed make at once, and keeps at most MAX_READY_IMAGES, the oldest going first', async () => {
    root = await mkdtemp(join(tmpdir(), 'airlock-ready-unit-'));
    const images = new ReadyKernelImages({ root });
    let failures = 0;
    const failing: MakeReadyImage = async () => {
      failures += 1;
      throw new Error('no runsc here');
    };
    expect(await images.take(key(64), failing)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await images.take(key(64), failing)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failures).toBe(1);

    const make = maker();
    for (let i = 0; i < MAX_READY_IMAGES; i++) {
      const image = await settled(images, key(200 + i), make);
      // Distinct ages, the first the oldest.
      await utimes(image.folder, 1_000 + i, 1_000 + i);
    }
    expect(await readdir(root)).toHaveLength(MAX_READY_IMAGES);
    await settled(images, key(999), make);
    const kept = await readdir(root);
    expect(kept).toHaveLength(MAX_READY_IMAGES);
    expect(kept).not.toContain('airlock-python_0123456789ab-runsc-200mb');
    expect(kept).toContain('airlock-python_0123456789ab-runsc-201mb');
    await images.close();
  });
});
