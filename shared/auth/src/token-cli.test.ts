// Runs the real CLI (scripts/token.ts) in a child process and verifies what it mints.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jwksFileKeySource } from './jwks-file.ts';
import { IntentTokenVerifier } from './verifier.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'scripts/token.ts');

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      done({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-token-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each case starts a Node process; on a busy 2-core machine that takes seconds.
describe('scripts/token.ts', { timeout: 180_000 }, () => {
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
      [[], 'usage:'],
      [['rotate'], "token: unknown command 'rotate'"],
      [['keys'], 'token: --out is required'],
      [['keys', '--out', dir, '--alg', 'RS256'], 'token: --alg must be one of EdDSA, ES256'],
      [['mint', '--key', 'k.json', '--iss', 'i', '--aud', 'a', '--sub', 's'], 'token: --tenant is required'],
      [['mint', '--bogus'], "token: Unknown option '--bogus'"],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 't', '--ttl', '0'],
        'token: --ttl must be',
      ],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 't', '--intent', '{'],
        'token: --intent is not valid JSON',
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
        'token: --intent languages[0]: Invalid option',
      ],
      [
        ['mint', '--key', 'k', '--iss', 'i', '--aud', 'a', '--sub', 's', '--tenant', 'a.b'],
        'token: --tenant: must be a tenant id',
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
    expect(missing.stderr).toContain(`token: cannot read the private key ${join(dir, 'none.json')}`);
  });
});
