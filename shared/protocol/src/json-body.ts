// Reads a JSON request body the same way on every surface (REST, NATS request-reply, MCP over HTTP): strict
// JSON, and no object may repeat a key at any depth. JSON.parse keeps the last of duplicate keys, so a tool
// broker that checked the first one would approve something other than what runs: such a body is refused
// with `invalid_json` naming the key and where it is. Must never accept what JSON.parse refuses, and never
// echo more of the body than the repeated key's name (cut to 64 characters) and its path.

import { visit } from 'jsonc-parser';
import { AirlockError } from './errors.ts';
import { fieldPath } from './validation.ts';

export interface DuplicateKey {
  key: string;
  /** Where the second occurrence is, as a field path (`files[0].path`). */
  path: string;
}

const MAX_KEY_CHARS = 64;

/** The first key repeated within one object of the JSON text, or undefined when there is none. */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const open: Set<string>[] = [];
  let found: DuplicateKey | undefined;
  visit(
    text,
    {
      onObjectBegin: () => {
        open.push(new Set());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onObjectProperty: (property, _offset, _length, _line, _column, pathSupplier) => {
        const keys = open.at(-1);
        if (found !== undefined || keys === undefined) return;
        if (keys.has(property)) found = { key: property, path: fieldPath([...pathSupplier(), property]) };
        keys.add(property);
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  return found;
}

/** The coded error for a body that repeats a key. */
export function duplicateKeyError(duplicate: DuplicateKey): AirlockError {
  const key =
    duplicate.key.length > MAX_KEY_CHARS ? `${duplicate.key.slice(0, MAX_KEY_CHARS)}…` : duplicate.key;
  const path = duplicate.path.length > 256 ? `${duplicate.path.slice(0, 256)}…` : duplicate.path;
  return new AirlockError(
    'invalid_json',
    `duplicate key ${JSON.stringify(key)} at ${path}: a JSON object must not repeat a key`,
    { field: path },
  );
}

/** Parses a request body: `invalid_json` when it is not JSON or repeats a key in any object. */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AirlockError('invalid_json');
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw duplicateKeyError(duplicate);
  return value;
}
