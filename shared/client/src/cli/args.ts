// Command-line parsing for every `airlock` command, on node:util's parseArgs: each command declares its options,
// gets `--help`/`-h` and `--json` for free, and any mistake becomes a UsageError (exit 2 with the usage).

import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export function usage(message: string): never {
  throw new UsageError(message);
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

const COMMON = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

export function parse(args: string[], options: ParseArgsOptionsConfig, positionals = true): Parsed {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, ...COMMON },
      strict: true,
      allowPositionals: positionals,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    usage((error as Error).message);
  }
}

/** Options that each take a string value, by name. */
export function stringOptions(...names: string[]): ParseArgsOptionsConfig {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }]));
}

/** The options of a command that takes no positional arguments: one given is a usage error (unless --help). */
export function flags(args: string[], options: ParseArgsOptionsConfig): Values {
  const { values, positionals } = parse(args, options);
  if (!values.help && positionals.length > 0) usage(`unexpected argument '${positionals[0]}'`);
  return values;
}

/** The string value of an option, or undefined; an empty value is a usage error. */
export function optional(values: Values, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') usage(`--${name} needs a value`);
  return value;
}

export function required(values: Values, name: string): string {
  return optional(values, name) ?? usage(`--${name} is required`);
}

/** The values of a repeatable option (`--file a --file b`). */
export function list(values: Values, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [String(value)]).map((v) => {
    if (v === '') usage(`--${name} needs a value`);
    return v;
  });
}

/** `KEY=VALUE` pairs of a repeatable option. */
export function pairs(values: Values, name: string): Array<[string, string]> {
  return list(values, name).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) usage(`--${name} takes KEY=VALUE, got '${pair}'`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

/** A whole number of at least 1 given as an option's value, or undefined. */
export function positiveInteger(values: Values, name: string): number | undefined {
  const value = optional(values, name);
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) usage(`--${name} must be a whole number > 0, got '${value}'`);
  return Number(value);
}
