// The `airlock` command on a terminal (a pseudo-terminal from util-linux `script`): progress lines and colour
// appear only there, NO_COLOR keeps the progress but drops the colour, and the program's output is unchanged.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSI, airlock, airlockOnTerminal } from './support/cli.ts';
import { useService } from './support/service.ts';

const service = useService();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-tty-'));
  await writeFile(join(dir, 'hello.js'), 'console.log("hello"); console.error("careful")');
  await writeFile(
    join(dir, 'fail.ts'),
    'const why: string = "x";\nconsole.error("failing");\nthrow new Error(why)',
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ID = 'ex_[\\w-]{22}';
/** The terminal's text with colour codes removed. */
const plain = (text: string) => text.replaceAll(/\u001b\[[0-9;]*m/g, '');

describe('airlock on a terminal', { timeout: 120_000 }, () => {
  it('shows progress and colour around the output', async () => {
    const env = { AIRLOCK_URL: service().url, TERM: 'xterm-256color' };
    const run = await airlockOnTerminal(['run', 'hello.js'], { cwd: dir, env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(ANSI);
    expect(run.stdout).toContain('\u001b[32m✓ success in ');
    const lines = plain(run.stdout).split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${ID} submitted: javascript on isolate$`));
    expect(lines[1]).toMatch(new RegExp(`^${ID} running$`));
    expect(lines.slice(2, 4)).toEqual(['hello', 'careful']);
    expect(lines[4]).toMatch(new RegExp(`^✓ success in \\d+ ms \\(${ID}\\)$`));
    expect(lines.slice(5)).toEqual(['']);
  });

  it('keeps progress but no colour with NO_COLOR, and the same run through pipes has neither', async () => {
    const env = { AIRLOCK_URL: service().url, TERM: 'xterm-256color', NO_COLOR: '1' };
    const tty = await airlockOnTerminal(['run', 'fail.ts'], { cwd: dir, env });
    expect(tty.code).toBe(1);
    expect(tty.stdout).not.toMatch(ANSI);
    expect(tty.stdout).toMatch(
      new RegExp(`^${ID} submitted: typescript on isolate\\n${ID} running\\nfailing\\n`),
    );
    expect(tty.stdout).toMatch(new RegExp(`\\n✗ error, exit code 1 \\(${ID}\\)\\n$`));

    const piped = await airlock(['run', 'fail.ts'], { cwd: dir, env: { AIRLOCK_URL: service().url } });
    expect(piped.code).toBe(1);
    expect(piped.stdout).toBe('');
    expect(piped.stderr).toMatch(/^failing\n/);
    expect(piped.stderr).not.toContain('submitted');
    expect(piped.stderr).not.toMatch(ANSI);
  });
});
