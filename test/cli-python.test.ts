// The `airlock` command with python in containers (runc) against a real service: a program's out/ files land in
// the local out folder (or --out), its exit code is the command's, and a session runs cells from files and from
// the command line, saves the chart a cell draws, and is read and closed with `airlock sessions`.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSI, airlock, type CliOptions } from './support/cli.ts';
import { useContainerService } from './support/containers.ts';

const PNG_MAGIC = '89504e470d0a1a0a';
const service = useContainerService({ AIRLOCK_BACKENDS: 'isolate,docker' });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-python-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], options: CliOptions = {}) {
  return airlock(args, { cwd: dir, env: { AIRLOCK_URL: service().url }, ...options });
}

describe('airlock with python', { timeout: 240_000 }, () => {
  it("saves the program's out/ files locally and exits with its exit code", async () => {
    await writeFile(
      join(dir, 'report.py'),
      [
        'import csv, os, sys',
        'import matplotlib',
        'matplotlib.use("Agg")',
        'import matplotlib.pyplot as plt',
        'rows = [(x, x * x) for x in range(1, 6)]',
        'with open("out/squares.csv", "w", newline="") as f:',
        '    csv.writer(f).writerows(rows)',
        'os.makedirs("out/plots")',
        'plt.plot([r[0] for r in rows], [r[1] for r in rows])',
        'plt.savefig("out/plots/squares.png")',
        'print("rows", len(rows), sys.argv[1:])',
      ].join('\n'),
    );
    const run = await cli(['run', 'report.py', '--backend', 'docker', '--limit', 'wall_time_ms=60000', 'a']);
    expect(run).toMatchObject({ code: 0, stdout: "rows 5 ['a']\n", stderr: '' });
    expect(await readFile(join(dir, 'out', 'squares.csv'), 'utf8')).toBe(
      '1,1\r\n2,4\r\n3,9\r\n4,16\r\n5,25\r\n',
    );
    const png = await readFile(join(dir, 'out', 'plots', 'squares.png'));
    expect(png.subarray(0, 8).toString('hex')).toBe(PNG_MAGIC);

    const elsewhere = await cli(['run', 'report.py', '--backend', 'docker', '--out', 'results', '--json']);
    expect(elsewhere.code).toBe(0);
    const execution = JSON.parse(elsewhere.stdout);
    expect(execution.result.files.map((f: { path: string }) => f.path).sort()).toEqual([
      'plots/squares.png',
      'squares.csv',
    ]);
    expect((await readdir(join(dir, 'results'))).sort()).toEqual(['plots', 'squares.csv']);

    const exit = await cli([
      'exec',
      'import sys\nprint("bye")\nsys.exit(7)',
      '--lang',
      'python',
      '--backend',
      'docker',
    ]);
    expect(exit).toMatchObject({ code: 7, stdout: 'bye\n', stderr: '' });
  });

  it('runs cells in a session, saves the chart a cell draws, and closes the session', async () => {
    const created = await cli([
      'sessions',
      'create',
      'python',
      '--backend',
      'docker',
      '--idle-timeout',
      '600',
    ]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const id = created.stdout.trim();
    expect(id).toMatch(/^ses_[\w-]{22}$/);

    await writeFile(
      join(dir, 'load.py'),
      'import pandas as pd\ndf = pd.DataFrame({"x": range(1, 6)})\ndf["y"] = df.x ** 2\nprint(len(df), "rows")',
    );
    expect(await cli(['run', 'load.py', '--session', id])).toMatchObject({
      code: 0,
      stdout: '5 rows\n',
      stderr: '',
    });
    expect(await cli(['exec', 'df.y.sum()', '--session', id])).toMatchObject({ code: 0, stdout: '55\n' });

    await writeFile(
      join(dir, 'chart.py'),
      'import matplotlib.pyplot as plt\nplt.plot(df.x, df.y, marker="o")\nplt.title("y = x^2")\nplt.show()',
    );
    const chart = await cli([
      'run',
      'chart.py',
      '--session',
      id,
      '--out',
      'charts',
      '--limit',
      'wall_time_ms=60000',
      '--json',
    ]);
    expect(chart.code).toBe(0);
    const cell = JSON.parse(chart.stdout);
    expect(cell).toMatchObject({ session_id: id, result: { outcome: 'success' } });
    expect(await readdir(join(dir, 'charts'))).toEqual([`${cell.id}-1.png`]);
    const png = await readFile(join(dir, 'charts', `${cell.id}-1.png`));
    expect(png.subarray(0, 8).toString('hex')).toBe(PNG_MAGIC);

    const failing = await cli(['exec', 'df.z', '--session', id]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain("AttributeError: 'DataFrame' object has no attribute 'z'");
    const wrong = await cli(['exec', '1', '--session', id, '--lang', 'python']);
    expect(wrong).toMatchObject({ code: 2, stdout: '' });
    expect(wrong.stderr).toContain('--lang does not apply to a session cell');

    const got = await cli(['sessions', 'get', id, '--json']);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, status: 'ready', language: 'python', cells: 4 });
    const closed = await cli(['sessions', 'close', id]);
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(
      new RegExp(`^${id}: python on docker, closed \\(deleted\\) at .+, 4 cell\\(s\\), memory \\d+ MB\\n$`),
    );
    const after = await cli(['exec', 'df', '--session', id]);
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/^airlock: session_closed: /);
    for (const run of [created, closed, after]) expect(run.stdout + run.stderr).not.toMatch(ANSI);
  });

  it('takes --on-idle and pauses sessions, refused on runc with the Airlock code', async () => {
    const bogus = await cli(['sessions', 'create', 'python', '--on-idle', 'later']);
    expect(bogus).toMatchObject({ code: 2, stdout: '' });
    expect(bogus.stderr).toContain("--on-idle is pause or close, not 'later'");
    const refused = await cli(['sessions', 'create', 'python', '--backend', 'docker', '--on-idle', 'pause']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^airlock: snapshot_unsupported \(field on_idle\)/);
    expect(refused.stderr).toContain('on_idle "pause" needs a snapshot');

    const created = await cli(['sessions', 'create', 'python', '--backend', 'docker', '--on-idle', 'close']);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const pause = await cli(['sessions', 'pause', id]);
    expect(pause.code).not.toBe(0);
    expect(pause.stderr).toMatch(/^airlock: snapshot_unsupported: /);
    const resumed = await cli(['sessions', 'resume', id, '--json']);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id, status: 'ready', on_idle: 'close' });
    expect((await cli(['sessions', 'close', id])).code).toBe(0);
  });
});
