// `airlock token` (development keys and intent tokens) run as a child process: what it mints verifies against the
// key set it wrote, usage errors exit 2 with a clear message, and key files are never overwritten silently.
// `npm run token` runs the same command.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntentTokenVerifier, jwksFileKeySource } from '@airlock/auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { airlock, cleanEnv, REPO_ROOT } from './support/cli.ts';

async function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await airlock(['token', ...args]);
  return { code, stdout, stderr };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-token-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each case starts a Node process; on a busy 2-core machine that takes seconds.
describe('airlock token', { timeout: 180_000 }, () => {
  it('writes keys, mints a token, and the token verifies against the written key set', async () => {
    const keys = await run('keys', '--out', dir, '--kid', 'dev-1');
    expect(keys).toMatchObject({ code: 0, stderr: '' });
    expect((await stat(join(dir, 'private.jwk.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')).keys[0]).not.toHaveProperty('d');
    expect(keys.stdout).not.toContain(JSON.parse(await readFile(join(dir, 'private.jwk.json'), 'utf8')).d);

    const minted = await run(
      'mint',
      ...['--key', join(dir, 'private.jwk.json'), '--iss', 'https://broker.dev', '--aud', 'airlock'],
      ...['--sub', 'agent-9', '--tenant', 'acme', '--ttl', '120', '--jti', 'cli-1'],
      ...['--intent', '{"languages":["javascript"],"max_executions":2}', '--act', '{"sub":"broker"}'],
    );
    expect(minted).toMatchObject({ code: 0, stderr: '' });

    const verifier = new IntentTokenVerifier({
      keys: await jwksFileKeySource({ path: join(dir, 'jwks.json') }),
      issuers: ['https://broker.dev'],
      audience: 'airlock',
      maxLifetimeSeconds: 300,
      algorithms: ['EdDSA'],
    });
    const principal = await verifier.verify(minted.stdout.trim());
    expect(principal).toMatchObject({
      subject: 'agent-9',
      tenant: 'acme',
      issuer: 'https://broker.dev',
      jti: 'cli-1',
      act: { sub: 'broker' },
      intent: { languages: ['javascript'], max_executions: 2 },
    });
    expect(principal.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(120_000);
  });

  it('exits 2 with a clear message on usage errors', async () => {
    const cases: [string[], string][] = [
      [[], 'airlock: token needs an action: keys or mint (airlock token --help shows the usage)'],
      [['rotate'], "airlock: unknown action 'token rotate'"],
      [['keys'], 'airlock: --out is required'],
      [['keys', '--out', dir, '--alg', 'RS256'], 'airlock: --alg must be one of EdDSA, ES256'],
      [
        ['mint', '--key', 'k.json', '--iss', 'i', '--aud', 'a', '--sub', 's'],
        'airlock: --tenant is required',
      ],
      [['mint', '--bogus'], "airlock: Unknown option '--bogus'"],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 't', '--ttl', '0'],
        'airlock: --ttl must be',
      ],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 't', '--intent', '{'],
        'airlock: --intent is not valid JSON',
      ],
      [
        [
          'mint',
          '--key',
          'k',
          '--iss',
          'i',
          '--aud',
          'a',
          '--sub',
          's',
          '--tenant',
          't',
          '--intent',
          '{"languages":["cobol"]}',
        ],
        'airlock: --intent languages[0]: Invalid option',
      ],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 'a.b'],
        'airlock: --tenant: must be a tenant id',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await run(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr || result.stdout).toContain(message);
    }
  });

  it('refuses to overwrite keys without --force, and reports a missing key file with exit 1', async () => {
    expect((await run('keys', '--out', dir)).code).toBe(0);
    const again = await run('keys', '--out', dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; pass --force to replace it');
    expect((await run('keys', '--out', dir, '--force')).code).toBe(0);

    const missing = await run(
      'mint',
      '--key',
      join(dir, 'none.json'),
      '--iss',
      'i',
      '--aud',
      'a',
      '--sub',
      's',
      '--tenant',
      't',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`airlock: cannot read the private key ${join(dir, 'none.json')}`);
  });
});

describe('npm run token', { timeout: 180_000 }, () => {
  it('runs airlock token', async () => {
    const result = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(
        'npm',
        ['run', '-s', 'token', '--', 'keys', '--out', dir, '--kid', 'npm-1'],
        { cwd: REPO_ROOT, env: cleanEnv() },
        (error, stdout) => done({ code: error ? Number(error.code) : 0, stdout }),
      );
    });
    expect(result).toEqual({
      code: 0,
      stdout: `kid npm-1 (EdDSA)\nprivate key: ${join(dir, 'private.jwk.json')}\npublic key set: ${join(dir, 'jwks.json')}\n`,
    });
  });
});
