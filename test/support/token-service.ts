// A service that requires intent tokens, for a whole test file: a throwaway issuer, its public keys and the
// tenants' policies in a temp dir (tokenSettings), and the embedded service started with them; after the file
// the service is closed and the dir removed. Getters, since both exist only once the file's tests run.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestIssuer, type TestIssuer } from '@airlock/auth/testing';
import { afterAll, beforeAll } from 'vitest';
import { startService, type TestService } from './service.ts';
import { tokenSettings } from './tokens.ts';

export interface TokenServiceOptions {
  /** The issuer's key id (createTestIssuer's own when absent). */
  kid?: string;
  /** More service settings, over the token settings. */
  env?: Record<string, string>;
}

/** Starts the file's token-mode service for `tenants` (name → policy); its service and its issuer. */
export function useTokenService(
  tenants: Record<string, unknown>,
  options: TokenServiceOptions = {},
): { service: () => TestService; issuer: () => TestIssuer } {
  let dir: string | undefined;
  let svc: TestService | undefined;
  let issuer: TestIssuer | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-tokens-'));
    issuer = await createTestIssuer(options.kid === undefined ? {} : { kid: options.kid });
    svc = await startService({ ...(await tokenSettings(dir, issuer, tenants)), ...options.env });
  }, 120_000);
  afterAll(async () => {
    await svc?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the token service is not started (use it inside a test)');
    return value;
  };
  return { service: () => started(svc), issuer: () => started(issuer) };
}
