// Server configuration binding a credential name to the hosts it may be sent to and how it is injected
// (a header name and a format such as `Bearer {value}`). Bindings name secrets; they never hold values.
// Loaded once from a JSON file: {"credentials": {"github": {"hosts": ["api.github.com"],
// "header": "Authorization", "format": "Bearer {value}", "secret": "github-token"}}}.

import { readFile } from 'node:fs/promises';
import { canonicalEgressHost } from '@airlock/protocol';
import { z } from 'zod';

const HostPattern = z.string().transform((value, ctx) => {
  const canonical = canonicalEgressHost(value);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a host name or *.domain pattern' });
    return z.NEVER;
  }
  return canonical;
});

export const CredentialBinding = z.strictObject({
  hosts: z.array(HostPattern).min(1).max(64),
  /** The request header the value goes into. */
  header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name'),
  /** How the header reads; `{value}` is replaced by the secret. @default {value} */
  format: z
    .string()
    .max(256)
    .refine((f) => f.split('{value}').length === 2, 'must contain {value} exactly once')
    .refine((f) => !/[\r\n\0]/.test(f), 'must not contain line breaks')
    .default('{value}'),
  /** The secret's name in the SecretsProvider. @default the binding's own name */
  secret: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/)
    .optional(),
});

export const CredentialBindingsFile = z.strictObject({
  credentials: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/), CredentialBinding),
});

export type CredentialBinding = z.output<typeof CredentialBinding>;
export type CredentialBindings = ReadonlyMap<string, CredentialBinding>;

export function parseCredentialBindings(input: unknown): CredentialBindings {
  const parsed = CredentialBindingsFile.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`credential bindings: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return new Map(Object.entries(parsed.data.credentials));
}

export async function loadCredentialBindings(path: string): Promise<CredentialBindings> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`credential bindings: cannot read ${path}: ${(error as Error).message}`);
  }
  return parseCredentialBindings(json);
}

/** Whether `host` (canonical) is one of the binding's hosts; `*.x` covers names below x. */
export function bindingCovers(binding: CredentialBinding, host: string): boolean {
  return binding.hosts.some((pattern) =>
    pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : pattern === host,
  );
}
