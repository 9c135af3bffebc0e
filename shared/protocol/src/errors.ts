// The one error-code table for every surface (REST, NATS, MCP): a code, an HTTP status, a one-line meaning.
// Never put secret values or raw guest code into an error message.

import type { FieldIssue } from './field-issues.ts';

/** Each code's HTTP status and one-line meaning, one row a code, in the order every surface lists them. */
// biome-ignore format: the table reads best one row a code
const ROWS = {
  invalid_json: [400, 'The request body is not valid JSON.'],
  invalid_request: [400, 'A field of the request is missing, of the wrong type, or out of range.'],
  unauthorized: [401, 'No valid credential was presented.'],
  forbidden: [403, 'The credential does not allow this request.'],
  not_found: [404, 'No such route (on a NATS gateway, any session or snapshot path: sessions need embedded mode), or no session or snapshot with this id visible to the caller.'],
  execution_not_found: [404, 'No execution with this id is visible to the caller.'],
  method_not_allowed: [405, 'The route does not accept this method.'],
  idempotency_conflict: [409, 'The Idempotency-Key was already used with a different request body.'],
  execution_finished: [409, 'The execution has already finished and cannot be canceled.'],
  payload_too_large: [413, 'The request body is larger than the server accepts.'],
  uri_too_long: [414, 'A path segment of the request is longer than the server accepts.'],
  unsupported_media_type: [415, 'The request body must be application/json.'],
  backend_unavailable: [422, 'The requested backend cannot run this language on this server.'],
  queue_full: [429, 'The execution queue is full; retry after the given delay.'],
  rate_limited: [429, "The tenant's submission rate is exhausted; retry after the given delay."],
  quota_exceeded: [429, 'The tenant already has as many executions in flight as its quota allows; retry later.'],
  header_too_large: [431, 'A request header is larger than the server accepts.'],
  // egress proxy: what a sandboxed program sees from the proxy, and submissions it cannot serve
  egress_denied: [403, "The egress proxy refused this destination under the run's policy."],
  proxy_auth_required: [407, 'The egress proxy credential is missing, wrong, or no longer valid.'],
  egress_limit: [429, "The run's egress limits (rate, tunnels or bytes) are exhausted."],
  egress_upstream_failed: [502, 'The egress proxy could not reach the upstream.'],
  egress_unavailable: [422, 'Network egress was requested but this server or backend does not offer it.'],
  callback_refused: [422, 'Airlock will not deliver to this callback URL (scheme, user-info, or an address it must not reach).'],
  // sessions
  session_busy: [409, 'A cell of this session is still running; retry when it has finished.'],
  session_closed: [409, 'The session is closed (the message says why) and runs no more cells.'],
  session_limit: [429, 'The server already holds as many open sessions as it allows; close one or retry later.'],
  snapshot_quota_exceeded: [429, "The tenant's snapshots (and paused sessions' images) would exceed its count or bytes quota; delete a snapshot first."],
  file_not_found: [404, "No such file or folder in the session's working folder."],
  file_not_regular: [422, 'The path names a link, a folder or a special file: links are never followed, and only regular files are read or written.'],
  session_storage_full: [413, "The session's working folder has no room for this file."],
  operation_unsupported: [422, "The session's backend does not offer this operation (the message says why)."],
  snapshot_unsupported: [422, "The session's backend cannot snapshot or restore sessions on this server (the message says why)."],
  snapshot_corrupt: [422, 'The snapshot failed its integrity check (corrupted or truncated) and is never restored.'],
  internal_error: [500, 'The server failed unexpectedly; the failure was logged.'],
  shutting_down: [503, 'The server is shutting down and accepts no new work.'],
  audit_unavailable: [503, 'The audit log cannot be written, so no work is accepted; retry after the given delay.'],
  template_unavailable: [503, 'The template is not built yet, being built, or failed its build; retry after the given delay.'],
  store_unavailable: [503, 'The execution store cannot be written, so no work is accepted; retry after the given delay.'],
} as const satisfies Record<string, readonly [status: number, meaning: string]>;

type Rows = typeof ROWS;

export const ERROR_CODES = Object.fromEntries(
  Object.entries(ROWS).map(([code, [status, meaning]]) => [code, { status, meaning }]),
) as { readonly [C in keyof Rows]: { readonly status: Rows[C][0]; readonly meaning: Rows[C][1] } };

export type ErrorCode = keyof typeof ERROR_CODES;

/** The wire form of an error, the same on every surface. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** Dotted path of the offending field, where one field is at fault. */
    field?: string;
    /** Seconds to wait before retrying (429 and 503). */
    retry_after?: number;
    /** Every problem of an invalid request at once (the first is also `field` and `message`). */
    errors?: FieldIssue[];
  };
}

/** An error that carries a code from the table; surfaces turn it into their wire form. */
export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfter: number | undefined;
  readonly issues: readonly FieldIssue[] | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { field?: string; retryAfter?: number; issues?: readonly FieldIssue[] } = {},
  ) {
    super(message ?? ERROR_CODES[code].meaning);
    this.name = 'AirlockError';
    this.code = code;
    this.field = options.field;
    this.retryAfter = options.retryAfter;
    this.issues = options.issues;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.field !== undefined) body.error.field = this.field;
    if (this.retryAfter !== undefined) body.error.retry_after = this.retryAfter;
    if (this.issues !== undefined) body.error.errors = this.issues.map((i) => ({ ...i }));
    return body;
  }
}

export function isAirlockError(value: unknown): value is AirlockError {
  return value instanceof AirlockError;
}
