import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jwksUrlKeySource } from './jwks-url.ts';
import { createTestIssuer, testVerifier } from './testing.ts';

/** A real JWKS endpoint on loopback whose key set and status the test controls; counts requests. */
let server: Server;
let url: string;
let served: { status: number; jwks: JSONWebKeySet };
let requests = 0;

beforeEach(async () => {
  served = { status: 200, jwks: { keys: [] } };
  requests = 0;
  server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(served.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(served.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const verifierFor = (cooldownSeconds: number) => testVerifier(jwksUrlKeySource({ url, cooldownSeconds }));

describe('jwksUrlKeySource', () => {
  it('fetches once, caches, and re-fetches on an unknown kid so a rotated key is accepted', async () => {
    const [old, rotated] = [
      await createTestIssuer({ kid: 'old' }),
      await createTestIssuer({ kid: 'new', alg: 'ES256' }),
    ];
    served.jwks = old.jwks;
    const verifier = verifierFor(0);
    expect((await verifier.verify(await old.mint())).tenant).toBe('acme');
    expect((await verifier.verify(await old.mint())).tenant).toBe('acme');
    expect(requests).toBe(1);

    served.jwks = { keys: [...old.jwks.keys, ...rotated.jwks.keys] };
    expect((await verifier.verify(await rotated.mint())).tenant).toBe('acme');
    expect(requests).toBe(2);

    const stranger = await createTestIssuer({ kid: 'stranger' });
    await expect(verifier.verify(await stranger.mint())).rejects.toThrow(
      "unknown kid 'stranger': no key in the issuer key set matches the token",
    );
    expect(requests).toBe(3);
  });

  it('does not re-fetch for unknown kids during the cooldown', async () => {
    const [old, rotated] = [await createTestIssuer({ kid: 'old' }), await createTestIssuer({ kid: 'new' })];
    served.jwks = old.jwks;
    const verifier = verifierFor(3600);
    await verifier.verify(await old.mint());
    served.jwks = { keys: [...old.jwks.keys, ...rotated.jwks.keys] };
    for (let i = 0; i < 5; i++)
      await expect(verifier.verify(await rotated.mint())).rejects.toThrow("unknown kid 'new'");
    expect(requests).toBe(1);
  });

  it('refuses tokens when the key set cannot be fetched', async () => {
    const issuer = await createTestIssuer({ kid: 'k1' });
    served = { status: 500, jwks: issuer.jwks };
    const verifier = verifierFor(0);
    await expect(verifier.verify(await issuer.mint())).rejects.toMatchObject({
      code: 'unauthorized',
      message: `the issuer key set could not be fetched from ${new URL(url).origin}`,
    });
  });

  it('refuses plain http to a host that is not loopback, and URLs with credentials', () => {
    expect(() => jwksUrlKeySource({ url: 'http://broker.example/jwks.json' })).toThrow(
      'http://broker.example: url: must be https (plain http only to a loopback host)',
    );
    expect(() =>
      jwksUrlKeySource({ url: 'http://broker.example/jwks.json', allowInsecureHttp: true }),
    ).not.toThrow();
    expect(() => jwksUrlKeySource({ url: 'https://u:p@broker.example/jwks.json' })).toThrow(
      /must not carry credentials/,
    );
    expect(() => jwksUrlKeySource({ url: 'not a url' })).toThrow('jwks url: url: is not a valid URL');
  });
});
