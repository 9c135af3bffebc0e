// Turns every issue of a zod failure into a `{field, message}` a person or a model can act on: an unknown key
// is named, with the accepted key it most likely meant ("did you mean"); a record key refused by its own rule
// says the rule's reason; a missing field says it is required. Reads the schema only to list accepted keys;
// never echoes a value from the input beyond an unknown key's name (cut to 64 characters).

import type { z } from 'zod';

/** One problem of a request: the dotted path of the field (`files[0].path`, '' for the whole body) and why. */
export interface FieldIssue {
  field: string;
  message: string;
}

const MAX_KEY_CHARS = 64;
/** At most this many issues are reported: enough to fix a request, never a body as large as the input. */
export const MAX_FIELD_ISSUES = 64;

export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replaceAll('.[', '[');
}

/** zod's internal definition, read structurally (the public types do not expose it). */
interface Def {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
}

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** The object schemas that can stand at `path` inside `schema` (several below a union). */
function objectsAt(schema: unknown, path: readonly PropertyKey[]): Def[] {
  const def = defOf(schema);
  if (!def) return [];
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      return objectsAt(def.innerType, path);
    case 'pipe':
      return objectsAt(def.in, path);
    case 'union':
      return (def.options ?? []).flatMap((option) => objectsAt(option, path));
    case 'array':
      return typeof path[0] === 'number' ? objectsAt(def.element, path.slice(1)) : [];
    case 'record':
      return path.length > 0 ? objectsAt(def.valueType, path.slice(1)) : [];
    case 'object': {
      if (path.length === 0) return [def];
      const next = def.shape?.[String(path[0])];
      return next === undefined ? [] : objectsAt(next, path.slice(1));
    }
    default:
      return [];
  }
}

/** The keys an object at `path` of `schema` accepts, in declaration order. */
export function acceptedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = objectsAt(schema, path).flatMap((def) => Object.keys(def.shape ?? {}));
  return [...new Set(keys)];
}

/** Edits (insert, delete, replace, swap of neighbours) between two words: optimal string alignment. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The accepted key `unknown` most likely meant: a small edit away, a different case, or a prefix of it. */
export function closestKey(unknown: string, accepted: readonly string[]): string | undefined {
  if (unknown.length > MAX_KEY_CHARS) return undefined;
  const lower = unknown.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const key of accepted) {
    const distance = editDistance(lower, key.toLowerCase());
    const allowed = Math.max(1, Math.floor(key.length / 3));
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { key, distance };
  }
  if (best) return best.key;
  if (lower.length >= 3) return accepted.find((key) => key.startsWith(lower));
  return undefined;
}

function unknownKeyIssues(
  issue: z.core.$ZodIssueUnrecognizedKeys,
  schema: z.ZodType | undefined,
): FieldIssue[] {
  const accepted = schema ? acceptedKeys(schema, issue.path) : [];
  return issue.keys.map((key) => {
    const field = fieldPath([...issue.path, key.slice(0, MAX_KEY_CHARS)]);
    const guess = closestKey(key, accepted);
    const hint = guess
      ? `; did you mean ${JSON.stringify(guess)}?`
      : accepted.length > 0
        ? ` (accepted: ${accepted.join(', ')})`
        : '';
    return { field, message: `${field}: unknown field${hint}` };
  });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key') {
    const reasons = issue.issues.map((inner) => inner.message);
    return reasons.length > 0 ? `the name ${reasons.join('; ')}` : issue.message;
  }
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
    return `is required (${issue.expected})`;
  }
  if (issue.code === 'invalid_value' && issue.message.startsWith('Invalid option: ')) {
    return issue.message.slice('Invalid option: '.length);
  }
  return issue.message;
}

/**
 * Every issue of `error`, unknown keys first (a misspelt key is usually why a required one is missing) and
 * one by one; `prefix` (`query`, `headers`) names where the input was.
 */
export function fieldIssues(error: z.ZodError, schema?: z.ZodType, prefix?: string): FieldIssue[] {
  const within = (field: string) => (prefix ? (field ? `${prefix}.${field}` : prefix) : field);
  const unknownFirst = [...error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  const issues = unknownFirst.flatMap((issue): FieldIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return unknownKeyIssues(issue, schema).map((found) => ({
        field: within(found.field),
        message: prefix ? `${prefix}.${found.message}` : found.message,
      }));
    }
    const field = within(fieldPath(issue.path));
    if (field === '' && issue.code === 'invalid_type' && / received (undefined|null)$/.test(issue.message)) {
      return [
        {
          field,
          message: 'the request body is missing: send a JSON object (Content-Type: application/json)',
        },
      ];
    }
    const message = issueMessage(issue);
    return [{ field, message: field ? `${field}: ${message}` : message }];
  });
  return issues.slice(0, MAX_FIELD_ISSUES);
}
