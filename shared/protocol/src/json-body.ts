// Reads a JSON request body the same way on every surface (REST, NATS request-reply, MCP over HTTP): strict
// JSON, and no object may repeat a key at any depth. JSON.parse keeps the last of duplicate keys, so a tool
// broker that checked the first one would approve something other than what runs: such a body is refused
// with `invalid_json` naming the key and where it is. Must never accept what JSON.parse refuses, and never
// echo more of the body than the repeated key's name (cut to 64 characters) and its path.

import { type ParseError, parseTree, visit } from 'jsonc-parser';
import { AirlockError } from './errors.ts';
import { fieldPath } from './field-issues.ts';

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

/** Where JSON.parse stopped, as V8 reports it (`line 2 column 6`), without any of the text itself. */
function syntaxPosition(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  // These V8 messages describe the fault without quoting the text: "Expected ',' or '}' after property value".
  const at = /^(.*?)(?: in JSON)? at position \d+ \(line (\d+) column (\d+)\)$/.exec(message);
  if (at) return `${at[1]} at line ${at[2]} column ${at[3]}`;
  // V8 gives no position for a bad first token or a cut-off text: find the first error the strict way.
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const offset = Math.min(errors[0]?.offset ?? text.length, text.length);
  const before = text.slice(0, offset).split('\n');
  const where = `line ${before.length} column ${before.at(-1)!.length + 1}`;
  return offset >= text.trimEnd().length ? `it ends too early (${where})` : `at ${where}`;
}

/**
 * The coded error for a body JSON.parse refuses: an empty body is named as empty, anything else says where
 * parsing stopped (line and column, counted from 1) — never what the text there was.
 */
export function jsonSyntaxError(text: string, error?: unknown): AirlockError {
  if (text.trim() === '') {
    return new AirlockError('invalid_json', 'the request body is empty: send a JSON object');
  }
  let cause = error;
  if (cause === undefined) {
    try {
      JSON.parse(text);
    } catch (thrown) {
      cause = thrown;
    }
  }
  return new AirlockError(
    'invalid_json',
    `the request body is not valid JSON: ${syntaxPosition(text, cause)}`,
  );
}

/** Parses a request body: `invalid_json` when it is not JSON or repeats a key in any object. */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, error);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw duplicateKeyError(duplicate);
  return value;
}
