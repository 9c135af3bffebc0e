// Python sessions on gVisor that start from the ready-made snapshot of their image's kernel
// (AIRLOCK_SESSION_READY_SNAPSHOT, on by default): the first session boots while the image is made (0600, in
// `<data dir>/session-ready`); later sessions opened the ordinary way are restored from it (runtime
// runsc-restore, naming that image), have numpy, pandas and matplotlib loaded already, run cells correctly, and
// share nothing with each other (variables, files) nor with the warm-up (no name of it is left). A corrupted
// image is never restored: the session boots, and the image is dropped and made again; with the setting off every
// session boots and no image is made. None of the containers is left behind. Real dockerd, real runsc
// (checkpoint/restore), real HTTP.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containersLabelled, useSessionService } from './support/containers.ts';
import { call } from './support/service.ts';
import { cellValue } from './support/session-calls.ts';

const dir = await mkdtemp(join(tmpdir(), 'airlock-ready-'));
const dataDir = join(dir, 'data');
const readyRoot = join(dataDir, 'session-ready');
const service = useSessionService({ AIRLOCK_DATA_DIR: dataDir });
const offDataDir = join(dir, 'off');
const serviceOff = useSessionService({ AIRLOCK_DATA_DIR: offDataDir, AIRLOCK_SESSION_READY_SNAPSHOT: 'off' });
afterAll(() => rm(dir, { recursive: true, force: true }));

const api = (method: string, path: string, body?: unknown) => call(service().url, method, path, body);

async function open(): Promise<string> {
  const response = await api('POST', '/v1/sessions', { language: 'python', backend: 'gvisor' });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.status).toBe('ready');
  return response.body.id;
}

const value = (id: string, code: string) => cellValue(api, id, code);

/** How the session's container was started: its runtime and the restore image its spec names ('' if none). */
function startedBy(session: string): { runtime: string; restoredFrom: string } {
  const [line] = containersLabelled(`airlock.session=${session}`);
  expect(line, `a container of session ${session}`).toBeDefined();
  const id = String(line).split(' ')[0] as string;
  const format = '{{.HostConfig.Runtime}} {{json .Config.Env}}';
  const [runtime, env] = execFileSync('docker', ['inspect', '-f', format, id], { encoding: 'utf8' }).split(
    ' ',
  );
  const restore = /"AIRLOCK_RESTORE_IMAGE=([^"]*)"/.exec(env ?? '');
  return { runtime: String(runtime), restoredFrom: restore?.[1] ?? '' };
}

/** The ready image folder once it exists (made in the background after the first session), and its record. */
async function readyImage(notCreatedAt?: string): Promise<{ folder: string; meta: any }> {
  for (let i = 0; i < 600; i++) {
    const names = await readdir(readyRoot).catch(() => [] as string[]);
    for (const name of names.filter((n) => !n.startsWith('.'))) {
      const folder = join(readyRoot, name);
      const meta = JSON.parse(await readFile(join(folder, 'meta.json'), 'utf8').catch(() => 'null'));
      if (meta !== null && meta.created_at !== notCreatedAt) return { folder, meta };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no ready image in ${readyRoot} after 300 s`);
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('sessions from the ready-made snapshot on gvisor', () => {
  let ready: { folder: string; meta: any };

  it('boots the first session while the ready image is made, owner-only, holding nothing of the session', async () => {
    const first = await open();
    expect(startedBy(first)).toEqual({ runtime: 'runsc', restoredFrom: '' });
    expect(await value(first, 'secret = "of the first session"\nsecret.upper()')).toBe(
      "'OF THE FIRST SESSION'",
    );
    ready = await readyImage();
    expect(ready.meta).toMatchObject({ runtime: 'runsc', memory_mb: expect.any(Number) });
    expect(ready.meta.image).toMatch(/^airlock-python:/);
    const image = join(ready.folder, 'checkpoint.img');
    expect((await stat(readyRoot)).mode & 0o777).toBe(0o700);
    expect((await stat(ready.folder)).mode & 0o777).toBe(0o700);
    expect((await stat(image)).mode & 0o777).toBe(0o600);
    expect((await stat(join(ready.folder, 'meta.json'))).mode & 0o777).toBe(0o600);
    expect(await sha256(image)).toBe(ready.meta.sha256);
    expect((await api('DELETE', `/v1/sessions/${first}`)).status).toBe(200);
  }, 400_000);

  it('restores later sessions from it: libraries loaded, cells correct, each its own state', async () => {
    const [b, c] = [await open(), await open()];
    for (const id of [b, c]) {
      expect(startedBy(id)).toEqual({ runtime: 'runsc-restore', restoredFrom: ready.folder });
      // Loaded by the warm-up, bound to no name of the cells' namespace.
      expect(
        await value(
          id,
          'import sys\nsorted(m for m in ("numpy", "pandas", "matplotlib") if m in sys.modules)',
        ),
      ).toBe("['matplotlib', 'numpy', 'pandas']");
      expect(
        await value(id, 'sorted(k for k in globals() if k not in ("_", "__name__", "__builtins__"))'),
      ).toBe("['display', 'sys']");
    }
    expect(
      await value(
        b,
        'import numpy as np, pandas as pd\nx = 1\nopen("mine.txt", "w").write("b")\nint(np.arange(4).sum())',
      ),
    ).toBe('6');
    expect(await value(c, 'import os\n("x" in globals(), os.path.exists("mine.txt"))')).toBe(
      '(False, False)',
    );
    expect(await value(c, 'x = 2\nimport pandas as pd\nfloat(pd.DataFrame({"v": [1.5, 2.5]}).v.sum())')).toBe(
      '4.0',
    );
    expect(await value(b, 'x, open("mine.txt").read()')).toBe("(1, 'b')");
    for (const id of [b, c]) expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 400_000);

  it('never restores a corrupted ready image: the session boots, the image is dropped and made again', async () => {
    const image = join(ready.folder, 'checkpoint.img');
    const bytes = await readFile(image);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(image, bytes);
    const booted = await open();
    expect(startedBy(booted)).toEqual({ runtime: 'runsc', restoredFrom: '' });
    expect(await value(booted, '6 * 7')).toBe('42');
    const remade = await readyImage(ready.meta.created_at);
    expect(remade.meta.sha256).not.toBe(ready.meta.sha256);
    expect(await sha256(join(remade.folder, 'checkpoint.img'))).toBe(remade.meta.sha256);
    const restored = await open();
    expect(startedBy(restored)).toEqual({ runtime: 'runsc-restore', restoredFrom: remade.folder });
    expect(await value(restored, 'x = 41\nx + 1')).toBe('42');
    for (const id of [booted, restored]) expect((await api('DELETE', `/v1/sessions/${id}`)).status).toBe(200);
  }, 400_000);
});

describe('AIRLOCK_SESSION_READY_SNAPSHOT=off', () => {
  it('boots every session and makes no ready-made snapshot', async () => {
    const off = (method: string, path: string, body?: unknown) => call(serviceOff().url, method, path, body);
    for (let i = 0; i < 2; i++) {
      const opened = await off('POST', '/v1/sessions', { language: 'python', backend: 'gvisor' });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      expect(startedBy(opened.body.id)).toEqual({ runtime: 'runsc', restoredFrom: '' });
      expect(await cellValue(off, opened.body.id, 'import numpy as np\nint(np.arange(4).sum())')).toBe('6');
      expect((await off('DELETE', `/v1/sessions/${opened.body.id}`)).status).toBe(200);
    }
    expect(await readdir(join(offDataDir, 'session-ready')).catch(() => 'none')).toBe('none');
  }, 300_000);
});
