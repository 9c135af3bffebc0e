// `airlock token` (development keys and intent tokens) run as a child process: what it mints verifies against the
// key set it wrote, usage errors exit 2 with a clear message, and key files are never overwritten silently.
// `npm run token` runs the same command; AIRLOCK_TOKEN carries a minted token to a service in token mode.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntentTokenVerifier, jwksFileKeySource } from '@airlock/auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { airlock, cleanEnv, REPO_ROOT } from './support/cli.ts';
import { startService } from './support/service.ts';

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

/** `token mint` with every required option but --tenant, signing with the key file `key`. */
const mintArgs = (key = 'k') => ['mint', '--key', key, '--iss', 'i', '--aud', 'a', '--sub', 's'];

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
    const tenant = (value: string) => [...mintArgs(), '--tenant', value];
    const cases: [string[], string][] = [
      [[], 'airlock: token needs an action: keys or mint (airlock token --help shows the usage)'],
      [['rotate'], "airlock: unknown action 'token rotate'"],
      [['keys'], 'airlock: --out is required'],
      [['keys', '--out', dir, '--alg', 'RS256'], 'airlock: --alg must be one of EdDSA, ES256'],
      [mintArgs('k.json'), 'airlock: --tenant is required'],
      [['mint', '--bogus'], "airlock: Unknown option '--bogus'"],
      [[...tenant('t'), '--ttl', '0'], 'airlock: --ttl must be'],
      [[...tenant('t'), '--intent', '{'], 'airlock: --intent is not valid JSON'],
      [
        [...tenant('t'), '--intent', '{"languages":["cobol"]}'],
        'airlock: --intent languages[0]: Invalid option',
      ],
      [tenant('a.b'), 'airlock: --tenant: must be a tenant id'],
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

    const missing = await run(...mintArgs(join(dir, 'none.json')), '--tenant', 't');
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

describe('AIRLOCK_TOKEN', { timeout: 180_000 }, () => {
  it('carries a minted token: the run is its tenant’s; no token, or one whose intent forbids it, is refused', async () => {
    expect((await run('keys', '--out', dir)).code).toBe(0);
    const policy = {
      ...{ languages: ['javascript', 'python'], backends: ['isolate'], limits: {} },
      ...{ max_concurrent: 2, max_queued: 2, submissions_per_minute: 100 },
    };
    await writeFile(join(dir, 'tenants.json'), JSON.stringify({ tenants: { acme: policy } }));
    await using svc = await startService({
      AIRLOCK_JWKS_FILE: join(dir, 'jwks.json'),
      AIRLOCK_TOKEN_ISSUERS: 'https://broker.dev',
      AIRLOCK_TENANT_POLICY_FILE: join(dir, 'tenants.json'),
    });
    const minted = await run(
      ...['mint', '--key', join(dir, 'private.jwk.json'), '--iss', 'https://broker.dev', '--aud', 'airlock'],
      ...[
        '--sub',
        'agent-1',
        '--tenant',
        'acme',
        '--intent',
        '{"languages":["javascript"],"max_executions":3}',
      ],
    );
    expect(minted.code).toBe(0);
    const env = { AIRLOCK_URL: svc.url, AIRLOCK_TOKEN: minted.stdout.trim() };

    const ran = await airlock(['exec', 'console.log("as acme")', '--lang', 'javascript', '--json'], { env });
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ tenant: 'acme', result: { stdout: 'as acme\n' } });

    const forbidden = await airlock(['exec', 'print(1)', '--lang', 'python'], { env });
    expect(forbidden).toMatchObject({ code: 3, stdout: '' });
    expect(forbidden.stderr).toBe(
      "airlock: forbidden (field language): language 'python' is not allowed by the intent token\n",
    );
    const anonymous = await airlock(['exec', '1', '--lang', 'javascript'], { env: { AIRLOCK_URL: svc.url } });
    expect(anonymous).toMatchObject({ code: 3, stdout: '' });
    expect(anonymous.stderr).toMatch(/^airlock: unauthorized: missing token/);
    expect(ran.stderr + forbidden.stderr + anonymous.stderr).not.toContain(env.AIRLOCK_TOKEN);
  });
});
