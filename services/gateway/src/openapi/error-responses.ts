// The error responses of an operation: its codes grouped by HTTP status from the one error-code table, each
// status with the Error schema, one example per code (a real message, never a placeholder) and, for 429 and 503,
// the Retry-After header. Which codes an operation can answer: what its shape implies (a body can be bad JSON,
// too large or of the wrong type; a credential can be missing) plus the codes its route names.

import { ERROR_CODES, type ErrorCode } from '@airlock/protocol';
import { payloadTooLarge } from '../error-handler.ts';

type Example = { summary: string; value: unknown };

/** Messages as the server writes them, where the table's meaning would read as a placeholder. */
const EXAMPLE_ERRORS: Partial<Record<ErrorCode, { message: string; field?: string; retry_after?: number }>> =
  {
    invalid_json: {
      message: 'the request body is not valid JSON: Expected double-quoted property name at line 1 column 26',
    },
    invalid_request: {
      message: 'limits.memory_mb: 4096 is above the server ceiling of 1024',
      field: 'limits.memory_mb',
    },
    unauthorized: { message: 'missing token: no intent token was presented' },
    forbidden: { message: "language 'python' is not allowed by the tenant policy", field: 'language' },
    not_found: { message: 'no session "ses_UIS5DCMbcldebYwZIOGs0w"' },
    session_busy: { message: 'session ses_UIS5DCMbcldebYwZIOGs0w is running a cell' },
    execution_not_found: { message: 'no execution "ex_4dVqlYbXQ1W2cOa5GZbE3A"' },
    idempotency_conflict: {
      message: 'Idempotency-Key "job-42" was already used with a different request body',
    },
    backend_unavailable: { message: 'backend gvisor is not available on this server' },
    queue_full: { message: 'The queue holds as many executions as it may.', retry_after: 1 },
    rate_limited: { message: "the tenant's submission rate is exhausted", retry_after: 2 },
    quota_exceeded: {
      message: 'tenant quota reached: 4 executions queued or running (max_concurrent 2 + max_queued 2)',
    },
    session_limit: { message: 'the server already holds 16 open sessions', retry_after: 5 },
    session_closed: { message: 'session ses_UIS5DCMbcldebYwZIOGs0w is closed (idle_timeout)' },
    audit_unavailable: {
      message: 'the audit log cannot be written; no work is accepted',
      retry_after: 5,
    },
    store_unavailable: {
      message: 'the execution store cannot be written; no work is accepted',
      retry_after: 5,
    },
    shutting_down: { message: 'the server is shutting down and accepts no new work' },
    template_unavailable: {
      message: 'template sqlite is building: the image is being built',
      field: 'template',
      retry_after: 30,
    },
    snapshot_unsupported: {
      message:
        'docker (runc) sessions cannot be snapshotted here: runc checkpoints need CRIU, which this server does not use',
    },
    snapshot_quota_exceeded: {
      message:
        "tenant acme's snapshot quota is 5 snapshots; it holds 5 (4 snapshots and 1 paused sessions' images, 81230512 bytes): delete a snapshot first",
    },
    snapshot_corrupt: {
      message:
        'snapshot snp_Hq3vY0c2Rr8lQx1mZt5aXw failed its integrity check (sha256 mismatch); it is not restored',
    },
  };

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is malformed',
  401: 'No valid intent token',
  403: 'The intent token or tenant policy does not allow this request',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict with the current state',
  413: 'The body is larger than the server accepts',
  414: 'A path segment is too long',
  415: 'The body must be application/json',
  422: 'This server cannot run what is asked',
  429: 'Too many requests; retry after the given delay',
  431: 'A header is too large',
  500: 'The server failed; the failure was logged',
  502: 'Upstream failure',
  503: 'The server accepts no work now; retry after the given delay',
};

const RETRY_AFTER = {
  description: 'Seconds to wait before retrying (also `error.retry_after`).',
  schema: { type: 'integer', minimum: 0 },
  example: 1,
};

export interface OperationShape {
  hasBody: boolean;
  hasParameters: boolean;
  authenticated: boolean;
  tokenMode: boolean;
}

/** The codes every operation of this shape can answer, whatever its route adds. */
export function impliedCodes(shape: OperationShape): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (shape.hasBody)
    codes.push('invalid_json', 'invalid_request', 'payload_too_large', 'unsupported_media_type');
  else if (shape.hasParameters) codes.push('invalid_request');
  if (shape.authenticated && shape.tokenMode) codes.push('unauthorized');
  if (shape.authenticated) codes.push('internal_error', 'shutting_down');
  return codes;
}

function example(code: ErrorCode, bodyLimitBytes: number): Example {
  const known = EXAMPLE_ERRORS[code];
  const message =
    code === 'payload_too_large'
      ? payloadTooLarge(bodyLimitBytes).message
      : (known?.message ?? ERROR_CODES[code].meaning);
  const error: Record<string, unknown> = { code, message };
  if (known?.field !== undefined) {
    error.field = known.field;
    if (code === 'invalid_request') error.errors = [{ field: known.field, message }];
  }
  if (known?.retry_after !== undefined) error.retry_after = known.retry_after;
  return { summary: ERROR_CODES[code].meaning, value: { error } };
}

/** OpenAPI response objects, by status, for these codes. */
export function errorResponses(
  codes: readonly ErrorCode[],
  bodyLimitBytes: number,
): Record<string, Record<string, unknown>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, Record<string, unknown>> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codesText = group.map((code) => `\`${code}\``).join(', ');
    const retry = status === 429 || status === 503;
    responses[String(status)] = {
      description: `${STATUS_TEXT[status] ?? 'Error'}: ${codesText}.`,
      ...(retry ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Error' },
          examples: Object.fromEntries(group.map((code) => [code, example(code, bodyLimitBytes)])),
        },
      },
    };
  }
  return responses;
}
