// `airlock token keys|mint`: development intent tokens. `keys` writes a signing key pair (private JWK + public
// JWKS), `mint` signs a token with it. For trying Airlock by hand and for tests; the tool broker is the real
// issuer. Must never print or log the private key, and never overwrite a key file unless --force is given.

import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  generateSigningKeys,
  IntentClaim,
  mintIntentToken,
  TenantName,
  TOKEN_ALGORITHMS,
  type TokenAlgorithm,
} from '@airlock/auth';
import { Actor, fieldPath } from '@airlock/protocol';
import type { z } from 'zod';
import { flags, optional, required, stringOptions, usage, type Values } from './args.ts';
import type { CliContext } from './context.ts';

const TOKEN_USAGE = `usage:
  airlock token keys --out DIR [--kid KID] [--alg EdDSA|ES256] [--force]
      writes DIR/private.jwk.json (keep it secret) and DIR/jwks.json (give it to Airlock)
  airlock token mint --key FILE --iss ISS --aud AUD --sub SUB --tenant TENANT
      [--ttl SECONDS] [--jti JTI] [--intent JSON] [--act JSON] [--scope SCOPES]
      prints a signed intent token (--scope airlock:operator: an operator token for the console)`;

function checked(name: string, schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value);
  if (result.success) return value;
  const issue = result.error.issues[0]!;
  usage(`--${name}${issue.path.length > 0 ? ` ${fieldPath(issue.path)}` : ''}: ${issue.message}`);
}

function json(values: Values, name: string, schema: z.ZodType): unknown {
  const value = optional(values, name);
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    usage(`--${name} is not valid JSON`);
  }
  return checked(name, schema, parsed);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function keys(args: string[], context: CliContext): Promise<number> {
  const values = flags(args, { ...stringOptions('out', 'kid', 'alg'), force: { type: 'boolean' } });
  if (values.help) return printUsage(context);
  const out = required(values, 'out');
  const alg = (optional(values, 'alg') ?? 'EdDSA') as TokenAlgorithm;
  if (!TOKEN_ALGORITHMS.includes(alg)) usage(`--alg must be one of ${TOKEN_ALGORITHMS.join(', ')}`);
  const privatePath = join(out, 'private.jwk.json');
  const publicPath = join(out, 'jwks.json');
  if (!values.force) {
    for (const path of [privatePath, publicPath]) {
      if (await exists(path)) throw new Error(`${path} exists; pass --force to replace it`);
    }
  }
  const kid = optional(values, 'kid');
  const generated = await generateSigningKeys(kid === undefined ? { alg } : { kid, alg });
  await mkdir(out, { recursive: true });
  await writeFile(privatePath, `${JSON.stringify(generated.privateJwk, null, 2)}\n`, { mode: 0o600 });
  await chmod(privatePath, 0o600);
  await writeFile(publicPath, `${JSON.stringify(generated.jwks, null, 2)}\n`);
  context.terminal.stdout(
    `kid ${generated.kid} (${generated.alg})\nprivate key: ${privatePath}\npublic key set: ${publicPath}\n`,
  );
  return 0;
}

async function mint(args: string[], context: CliContext): Promise<number> {
  const values = flags(
    args,
    stringOptions('key', 'iss', 'aud', 'sub', 'tenant', 'ttl', 'jti', 'intent', 'act', 'scope'),
  );
  if (values.help) return printUsage(context);
  const keyPath = required(values, 'key');
  const ttlText = optional(values, 'ttl');
  const ttl = ttlText === undefined ? 300 : Number(ttlText);
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
  const jti = optional(values, 'jti');
  const scope = optional(values, 'scope');
  const token = await mintIntentToken({
    ...options,
    ...(jti === undefined ? {} : { jti }),
    ...(scope === undefined ? {} : { scope }),
    privateJwk: privateJwk as Parameters<typeof mintIntentToken>[0]['privateJwk'],
  });
  context.terminal.stdout(`${token}\n`);
  return 0;
}

function printUsage(context: CliContext): number {
  context.terminal.stdout(`${TOKEN_USAGE}\n`);
  return 0;
}

export async function token(args: string[], context: CliContext): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'keys') return keys(rest, context);
  if (action === 'mint') return mint(rest, context);
  if (action === '--help' || action === '-h') return printUsage(context);
  usage(action === undefined ? 'token needs an action: keys or mint' : `unknown action 'token ${action}'`);
}
