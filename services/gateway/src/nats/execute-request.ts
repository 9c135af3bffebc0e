// Reads one NATS execute request into what the REST route gets: the body (the same JSON as POST
// /v1/executions, validated by the same zod schema), the headers the authorizer reads (`Authorization:
// Bearer …`) and an optional Idempotency-Key. Every fault is a coded AirlockError from the one table.
// Must never pass on a body it did not validate, and never echo header values into an error.

import {
  AirlockError,
  type ExecutionRequest,
  parseJsonBody,
  type RequestSchemas,
  validationError,
} from '@airlock/protocol';
import { payloadTooLarge } from '../error-handler.ts';

/** A message's headers as name → values (what MsgHdrs iterates as, whichever nats-core typed it). */
export type HeaderEntries = Iterable<[string, string[]]>;

export interface ExecuteInput {
  request: ExecutionRequest;
  headers: Record<string, string>;
  idempotencyKey: string | undefined;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const MAX_HEADER_CHARS = 16_384;

export interface ExecuteRequestBounds {
  bodyLimitBytes: number;
  /** This server's request schemas (limits within its ceilings), the same as the REST routes'. */
  schemas: RequestSchemas;
}

export function readExecuteRequest(
  data: Uint8Array,
  headers: HeaderEntries | undefined,
  bounds: ExecuteRequestBounds,
): ExecuteInput {
  if (data.byteLength > bounds.bodyLimitBytes) throw payloadTooLarge(bounds.bodyLimitBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new AirlockError('invalid_json', 'The request body is not valid UTF-8.');
  }
  const json = parseJsonBody(text);
  const schema = bounds.schemas.execution;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validationError(parsed.error, schema);
  const authorization = header(headers, 'authorization');
  const key = header(headers, 'idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new AirlockError('invalid_request', 'idempotency-key: must be 1-255 visible ASCII characters', {
      field: 'headers.idempotency-key',
    });
  }
  return {
    request: parsed.data,
    headers: authorization === undefined ? {} : { authorization },
    idempotencyKey: key,
  };
}

/** A header by name, whatever its case; a header too large for any credential is refused. */
function header(headers: HeaderEntries | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, values] of headers) {
    if (key.toLowerCase() !== name) continue;
    const value = values[0];
    if (value !== undefined && value.length > MAX_HEADER_CHARS) throw new AirlockError('header_too_large');
    return value;
  }
  return undefined;
}
