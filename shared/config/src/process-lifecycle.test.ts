import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCause } from './process-lifecycle.ts';

const LIFECYCLE = join(import.meta.dirname, 'process-lifecycle.ts');

class StepFailed extends Error {}

/** A start on a cleanup stack whose step fails after `releases` were pushed. */
async function failingStart(releases: Array<() => void>): Promise<void> {
  await using stack = new AsyncDisposableStack();
  for (const release of releases) stack.defer(release);
  throw new StepFailed('the step failed');
}

describe('startCause', () => {
  it('is the step error itself when every release worked', async () => {
    const released: string[] = [];
    const error = await failingStart([() => released.push('a'), () => released.push('b')]).catch((e) => e);
    expect(released).toEqual(['b', 'a']);
    expect(startCause(error)).toBe(error);
    expect(error).toBeInstanceOf(StepFailed);
  });

  it('is the step error when releases failed too (under their SuppressedError)', async () => {
    const released: string[] = [];
    const error = await failingStart([
      () => released.push('a'),
      () => {
        throw new Error('release b failed');
      },
      () => {
        throw new Error('release c failed');
      },
    ]).catch((e) => e);
    expect(released).toEqual(['a']);
    expect(error).toBeInstanceOf(SuppressedError);
    const cause = startCause(error);
    expect(cause).toBeInstanceOf(StepFailed);
    expect((cause as Error).message).toBe('the step failed');
  });
});

/**
 * A service process built by runService whose start defers a release, then runs `after` (module code) once it
 * is started; answers its exit code and its log lines (one JSON object a line on stdout).
 */
async function serviceProcess(after: string): Promise<{ code: number | null; lines: string[] }> {
  const program = `
    import { runService } from ${JSON.stringify(LIFECYCLE)};
    const log = (level) => (obj, msg) =>
      console.log(JSON.stringify({ level, msg, err: obj.err instanceof Error ? obj.err.message : undefined }));
    const logger = { info: log('info'), error: log('error'), fatal: log('fatal') };
    await runService({ logger, output: { flush: async () => {} }, stopMessage: 'stopping' }, async (stack) => {
      stack.defer(() => console.log(JSON.stringify({ msg: 'released' })));
      setInterval(() => {}, 1_000); // serving
    });
    ${after}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, lines: out.trim().split('\n') };
}

describe('runService', () => {
  it('logs an unhandled rejection and keeps serving; a later SIGTERM still stops it cleanly (exit 0)', async () => {
    const { code, lines } = await serviceProcess(`
      void Promise.reject(new Error('nobody awaited this'));
      setTimeout(() => { console.log(JSON.stringify({ msg: 'still serving' })); process.kill(process.pid, 'SIGTERM'); }, 200);
    `);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: 'error',
        msg: 'unhandled promise rejection (a bug); the service continues',
        err: 'nobody awaited this',
      },
      { msg: 'still serving' },
      { level: 'info', msg: 'stopping' },
      { msg: 'released' },
    ]);
    expect(code).toBe(0);
  }, 60_000);

  it('logs an uncaught exception as fatal, releases what the start acquired and exits 1', async () => {
    const { code, lines } = await serviceProcess(`
      setTimeout(() => { throw new Error('a bug'); }, 100);
    `);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { level: 'fatal', msg: 'uncaught exception; stopping the service (exit code 1)', err: 'a bug' },
      { msg: 'released' },
    ]);
    expect(code).toBe(1);
  }, 60_000);
});
