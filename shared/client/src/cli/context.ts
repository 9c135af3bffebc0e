// What every `airlock` command gets from main.ts: the terminal, the environment, stdin, a signal for Ctrl-C,
// and the client for the connection the environment (or --url) names. Commands never touch `process` directly.

import { AirlockClient } from '../client.ts';
import { parseConnection } from './config.ts';
import type { Terminal } from './terminal.ts';

export interface CliContext {
  terminal: Terminal;
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<string | Uint8Array>;
  /** Aborted on the first Ctrl-C (SIGINT): a command cancels what it started and ends with 130. */
  interrupted: AbortSignal;
  version: string;
}

/** The client for AIRLOCK_URL/AIRLOCK_TOKEN, or `url` (--url) when given. Throws ConfigError on bad values. */
export function clientFor(context: CliContext, url?: string): AirlockClient {
  const connection = parseConnection(context.env, url);
  return new AirlockClient({ baseUrl: connection.url, token: connection.token });
}

/** All of stdin as text. */
export async function readStdin(context: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of context.stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A value as JSON on stdout: indented on a terminal, one line otherwise. */
export function printJson(context: CliContext, value: unknown): void {
  const indent = context.terminal.out.isTTY === true ? 2 : undefined;
  context.terminal.stdout(`${JSON.stringify(value, null, indent)}\n`);
}
