import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthConfigError } from './config-error.ts';
import { jwksFileKeySource } from './jwks-file.ts';
import { generateSigningKeys } from './signing.ts';
import { createTestIssuer, testVerifier } from './testing.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-jwks-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const writeJwks = (path: string, ...sets: JSONWebKeySet[]) =>
  writeFile(path, JSON.stringify({ keys: sets.flatMap((s) => s.keys) }));

const verifierFor = (keys: Awaited<ReturnType<typeof jwksFileKeySource>>) => testVerifier(keys);

describe('jwksFileKeySource', () => {
  it('re-reads the file on an unknown kid once the refresh interval has passed, then accepts the rotated key', async () => {
    const path = join(dir, 'jwks.json');
    const [old, rotated] = [await createTestIssuer({ kid: 'old' }), await createTestIssuer({ kid: 'new' })];
    await writeJwks(path, old.jwks);
    let clock = 1_000_000;
    const verifier = verifierFor(
      await jwksFileKeySource({ path, refreshIntervalSeconds: 30, now: () => clock }),
    );
    expect((await verifier.verify(await old.mint())).tenant).toBe('acme');

    // The issuer rotates: the file now holds both keys. Inside the interval the file is not read again.
    await writeJwks(path, old.jwks, rotated.jwks);
    clock += 10_000;
    await expect(verifier.verify(await rotated.mint())).rejects.toThrow("unknown kid 'new'");

    clock += 30_000;
    expect((await verifier.verify(await rotated.mint())).tenant).toBe('acme');
    expect((await verifier.verify(await old.mint())).tenant).toBe('acme');

    // The old key is retired: after the next permitted re-read it is refused.
    await writeJwks(path, rotated.jwks);
    clock += 30_000;
    const stranger = await createTestIssuer({ kid: 'stranger' });
    await expect(verifier.verify(await stranger.mint())).rejects.toThrow("unknown kid 'stranger'");
    expect((await verifier.verify(await rotated.mint())).tenant).toBe('acme');
  });

  it('keeps the last good key set when a re-read finds a broken file, and reports the error', async () => {
    const path = join(dir, 'jwks.json');
    const issuer = await createTestIssuer({ kid: 'k1' });
    await writeJwks(path, issuer.jwks);
    const errors: Error[] = [];
    let clock = 0;
    const keys = await jwksFileKeySource({ path, now: () => clock, onReloadError: (e) => errors.push(e) });
    const verifier = verifierFor(keys);
    await writeFile(path, '{ not json');
    clock += 60_000;
    const stranger = await createTestIssuer({ kid: 'k2' });
    await expect(verifier.verify(await stranger.mint())).rejects.toThrow("unknown kid 'k2'");
    expect(errors.map((e) => e.message)).toEqual([`${path}: is not valid JSON`]);
    expect((await verifier.verify(await issuer.mint())).tenant).toBe('acme');
  });

  it('refuses a file that is missing, not JSON, or not a public key set, naming the file and field', async () => {
    const path = join(dir, 'jwks.json');
    const error = async () => {
      try {
        await jwksFileKeySource({ path });
      } catch (e) {
        expect(e).toBeInstanceOf(AuthConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(await error()).toMatch(new RegExp(`^${path}: cannot read the JWKS file \\(ENOENT`));

    await writeFile(path, 'nope');
    expect(await error()).toBe(`${path}: is not valid JSON`);

    await writeFile(path, JSON.stringify({ keys: [] }));
    expect(await error()).toMatch(new RegExp(`^${path}: keys: Too small`));

    const keys = await generateSigningKeys({ kid: 'k' });
    await writeFile(path, JSON.stringify({ keys: [keys.privateJwk] }));
    expect(await error()).toBe(`${path}: keys[0].d: is private key material`);

    const { kid: _kid, ...withoutKid } = keys.jwks.keys[0]!;
    await writeFile(path, JSON.stringify({ keys: [withoutKid] }));
    expect(await error()).toMatch(new RegExp(`^${path}: keys\\[0\\].kid: `));

    await writeFile(path, JSON.stringify({ keys: [keys.jwks.keys[0], keys.jwks.keys[0]] }));
    expect(await error()).toBe(`${path}: keys[1].kid: is a duplicate`);

    await writeFile(path, JSON.stringify({ keys: [{ ...keys.jwks.keys[0], x: 'AAAA' }] }));
    expect(await error()).toBe(`${path}: keys[0]: is not a usable EdDSA public key`);
  });
});
