// zod → JSON Schema (2020-12, as OpenAPI 3.1 has it) with a $ref for every named schema, and the components
// section: exactly the named schemas the document reaches, each in the direction it is used in (a request body
// is the input side of its zod schema, defaults optional; a response the output side). A name reached from both
// sides must read the same on both, or generation fails: one name never stands for two shapes.

import { z } from 'zod';
import type { CatalogEntry } from './components.ts';

export type JsonSchema = Record<string, unknown>;
export type Direction = 'input' | 'output';

const COMPONENTS = '#/components/schemas/';
const PLACEHOLDER = '__airlock_route_schema__';
/** Keywords zod stamps on a generated root that have no place inside an OpenAPI document. */
const ROOT_KEYWORDS = ['$schema', '$id', 'id'];

/**
 * Drops the bounds zod gives every integer (±(2^53 − 1), the safe-integer range): they say nothing a reader
 * needs and read like a limit of this server.
 */
function withoutSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSafeIntegerBounds);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'minimum' && child === Number.MIN_SAFE_INTEGER) continue;
    if (key === 'maximum' && child === Number.MAX_SAFE_INTEGER) continue;
    result[key] = withoutSafeIntegerBounds(child);
  }
  return result;
}

/**
 * On the request side a default is the server's to apply, not the caller's to send: generators such as
 * openapi-typescript make a property with a `default` required, so the default moves into the description.
 */
function defaultsDescribed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defaultsDescribed);
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key !== 'default') result[key] = defaultsDescribed(child);
  }
  if ('default' in value) {
    const said = `Default: \`${JSON.stringify((value as { default: unknown }).default)}\`.`;
    result.description = typeof result.description === 'string' ? `${result.description} ${said}` : said;
  }
  return result;
}

function convert(catalog: readonly CatalogEntry[], io: Direction): Record<string, JsonSchema> {
  const registry = z.registry<{ id?: string; [key: string]: unknown }>();
  for (const [schema, meta] of catalog) registry.add(schema, meta);
  const { schemas } = z.toJSONSchema(registry, {
    io,
    metadata: registry,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    cycles: 'ref',
    reused: 'inline',
    uri: (id) => `${COMPONENTS}${id}`,
  });
  const clean: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const bounded = withoutSafeIntegerBounds(schema);
    const copy = (io === 'input' ? defaultsDescribed(bounded) : bounded) as JsonSchema;
    for (const keyword of ROOT_KEYWORDS) delete copy[keyword];
    clean[id] = copy;
  }
  return clean;
}

/** One schema of a route as JSON Schema: a $ref when it is named, else inline with $refs to the named ones. */
export function toJsonSchema(
  catalog: readonly CatalogEntry[],
  schema: z.core.$ZodType,
  io: Direction,
): JsonSchema {
  const id = catalog.find(([named]) => named === schema)?.[1].id;
  if (id !== undefined) return { $ref: `${COMPONENTS}${id}` };
  const converted = convert([...catalog, [schema, { id: PLACEHOLDER }]], io)[PLACEHOLDER];
  if (!converted) throw new Error('zod produced no JSON Schema for a route schema');
  return converted;
}

/** Names referenced anywhere inside a JSON value. */
function refsIn(value: unknown, found: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) refsIn(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith(COMPONENTS)) {
        found.add(child.slice(COMPONENTS.length));
      } else {
        refsIn(child, found);
      }
    }
  }
  return found;
}

/**
 * The components section for what `used` references: starting from the names each side refers to, every named
 * schema those reach, each generated in its direction.
 */
export function componentSchemas(
  catalog: readonly CatalogEntry[],
  used: { input: unknown[]; output: unknown[] },
): Record<string, JsonSchema> {
  const result: Record<string, JsonSchema> = {};
  for (const io of ['input', 'output'] as const) {
    const all = convert(catalog, io);
    const pending = [...refsIn(used[io], new Set())];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      const schema = all[name];
      if (!schema) throw new Error(`the document refers to ${name}, which is not a named schema`);
      const earlier = result[name];
      if (earlier && JSON.stringify(earlier) !== JSON.stringify(schema)) {
        throw new Error(
          `${name} is used in requests and in responses but reads differently in each: name them apart`,
        );
      }
      result[name] = schema;
      pending.push(...refsIn(schema, new Set()));
    }
  }
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => a.localeCompare(b)));
}
