// Configuration of the stdio MCP server, parsed once from the environment by main.ts: where Airlock is and the
// intent token to present. Errors name the variable and what was expected, never the token's value.

import { z } from 'zod';

const McpConfigSchema = z.object({
  /** Base URL of the Airlock gateway. @default http://127.0.0.1:8080 */
  AIRLOCK_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:8080'),
  /** Intent token sent as `Authorization: Bearer …`; leave unset for a gateway in local development mode. */
  AIRLOCK_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'must be a token of visible ASCII characters, without spaces')
    .optional(),
});

export interface McpConfig {
  airlockUrl: string;
  token: string | undefined;
}

export class McpConfigError extends Error {
  override name = 'McpConfigError';
}

export function parseMcpConfig(env: Record<string, string | undefined>): McpConfig {
  const input = {
    AIRLOCK_URL: env.AIRLOCK_URL === '' ? undefined : env.AIRLOCK_URL,
    AIRLOCK_TOKEN: env.AIRLOCK_TOKEN === '' ? undefined : env.AIRLOCK_TOKEN,
  };
  const parsed = McpConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    const shown = name === 'AIRLOCK_URL' ? ` (got ${JSON.stringify(input.AIRLOCK_URL)})` : '';
    throw new McpConfigError(`${name} ${issue?.message ?? 'is invalid'}${shown}`);
  }
  return Object.freeze({ airlockUrl: parsed.data.AIRLOCK_URL, token: parsed.data.AIRLOCK_TOKEN });
}
