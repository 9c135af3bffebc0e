// Development CLI for intent tokens: `keys` writes a signing key pair (private JWK + public JWKS), `mint`
// signs a token with it. For trying Airlock by hand and for tests; the tool broker is the real issuer.
// Must never print or log the private key, and never overwrite a key file unless --force is given.
//
//   node scripts/token.ts keys --out DIR [--kid KID] [--alg EdDSA|ES256] [--force]
//   node scripts/token.ts mint --key DIR/private.jwk.json --iss ISS --aud AUD --sub SUB --tenant TENANT
//                              [--ttl 300] [--jti JTI] [--intent JSON] [--act JSON]

import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import {
  Actor,
  generateSigningKeys,
  IntentClaim,
  mintIntentToken,
  TenantName,
  TOKEN_ALGORITHMS,
  type TokenAlgorithm,
} from '@airlock/auth';
import { fieldPath } from '@airlock/protocol';
import type { z } from 'zod';

const USAGE = `usage:
  node scripts/token.ts keys --out DIR [--kid KID] [--alg EdDSA|ES256] [--force]
      writes DIR/private.jwk.json (keep it secret) and DIR/jwks.json (give it to Airlock)
  node scripts/token.ts mint --key FILE --iss ISS --aud AUD --sub SUB --tenant TENANT
      [--ttl SECONDS] [--jti JTI] [--intent JSON] [--act JSON]
      prints a signed intent token`;

class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsOptionsConfig): Values {
  try {
    const help = { type: 'boolean', short: 'h' } as const;
    return parseArgs({ args, options: { ...options, help }, strict: true, allowPositionals: false })
      .values as Values;
  } catch (error) {
    usage((error as Error).message);
  }
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') usage(`--${name} is required`);
  return value;
}

function checked(name: string, schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value);
  if (result.success) return value;
  const issue = result.error.issues[0]!;
  usage(`--${name}${issue.path.length > 0 ? ` ${fieldPath(issue.path)}` : ''}: ${issue.message}`);
}

function json(values: Values, name: string, schema: z.ZodType): unknown {
  const value = values[name];
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(value));
  } catch {
    usage(`--${name} is not valid JSON`);
  }
  return checked(name, schema, parsed);
}

async function keys(args: string[]): Promise<void> {
  const values = parse(args, {
    out: { type: 'string' },
    kid: { type: 'string' },
    alg: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (values.help) return void console.log(USAGE);
  const out = required(values, 'out');
  const alg = (values.alg ?? 'EdDSA') as TokenAlgorithm;
  if (!TOKEN_ALGORITHMS.includes(alg)) usage(`--alg must be one of ${TOKEN_ALGORITHMS.join(', ')}`);
  const privatePath = join(out, 'private.jwk.json');
  const publicPath = join(out, 'jwks.json');
  if (!values.force) {
    for (const path of [privatePath, publicPath]) {
      const exists = await access(path).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error(`${path} exists; pass --force to replace it`);
    }
  }
  const generated = await generateSigningKeys(
    typeof values.kid === 'string' ? { kid: values.kid, alg } : { alg },
  );
  await mkdir(out, { recursive: true });
  await writeFile(privatePath, `${JSON.stringify(generated.privateJwk, null, 2)}\n`, { mode: 0o600 });
  await chmod(privatePath, 0o600);
  await writeFile(publicPath, `${JSON.stringify(generated.jwks, null, 2)}\n`);
  console.log(
    `kid ${generated.kid} (${generated.alg})\nprivate key: ${privatePath}\npublic key set: ${publicPath}`,
  );
}

async function mint(args: string[]): Promise<void> {
  const values = parse(args, {
    key: { type: 'string' },
    iss: { type: 'string' },
    aud: { type: 'string' },
    sub: { type: 'string' },
    tenant: { type: 'string' },
    ttl: { type: 'string' },
    jti: { type: 'string' },
    intent: { type: 'string' },
    act: { type: 'string' },
  });
  if (values.help) return void console.log(USAGE);
  const keyPath = required(values, 'key');
  const ttl = values.ttl === undefined ? 300 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) usage('--ttl must be a whole number of seconds > 0');
  const options = {
    issuer: required(values, 'iss'),
    audience: required(values, 'aud'),
    subject: required(values, 'sub'),
    tenant: checked('tenant', TenantName, required(values, 'tenant')) as string,
    ttlSeconds: ttl,
    intent: json(values, 'intent', IntentClaim),
    act: json(values, 'act', Actor),
  };
  let privateJwk: unknown;
  try {
    privateJwk = JSON.parse(await readFile(keyPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the private key ${keyPath}: ${(error as Error).message}`);
  }
  const token = await mintIntentToken({
    ...options,
    ...(typeof values.jti === 'string' ? { jti: values.jti } : {}),
    privateJwk: privateJwk as Parameters<typeof mintIntentToken>[0]['privateJwk'],
  });
  console.log(token);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'keys') await keys(rest);
    else if (command === 'mint') await mint(rest);
    else if (command === undefined || command === '--help' || command === '-h') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    } else usage(`unknown command '${command}'`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`token: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`token: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
