// `airlock runtimes`: the languages and backends the server can run, with versions, and why one is unavailable.

import { flags, optional } from './args.ts';
import { type CliContext, clientFor, printJson } from './context.ts';

const RUNTIMES_USAGE = 'usage: airlock runtimes [--url URL] [--json]';

export async function runtimes(args: string[], context: CliContext): Promise<number> {
  const values = flags(args, { url: { type: 'string' } });
  if (values.help) {
    context.terminal.stdout(`${RUNTIMES_USAGE}\n`);
    return 0;
  }
  const client = clientFor(context, optional(values, 'url'));
  const list = await client.runtimes({ signal: context.interrupted });
  if (values.json) {
    printJson(context, { runtimes: list });
    return 0;
  }
  const rows = list.map((r) => [
    r.language,
    r.backend,
    r.version,
    r.available ? 'available' : `unavailable: ${r.reason ?? 'unknown'}`,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), 0));
  for (const row of rows) {
    const line = row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ');
    context.terminal.stdout(`${line}\n`);
  }
  return 0;
}
