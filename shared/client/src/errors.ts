// The one error the client throws. Wire errors carry the gateway's code from the shared table
// (shared/protocol/src/errors.ts); failures that never got a coded answer carry a client-local code
// (CLIENT_ERROR_CODES) so callers can tell "Airlock said no" from "Airlock could not be reached".
// Never put the bearer token into a message.

import type { ErrorCode } from '@airlock/protocol';

/** Codes for failures that have no coded body from the gateway; `status` is 0 when no response arrived. */
export const CLIENT_ERROR_CODES = {
  network_error: 'The request did not reach Airlock or no response arrived.',
  unexpected_response: 'Airlock answered with a status or body the client does not understand.',
  aborted: 'The caller aborted the request.',
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

export interface AirlockClientErrorInit {
  status: number;
  code: ErrorCode | ClientErrorCode | (string & {});
  message: string;
  field?: string | undefined;
  retryAfter?: number | undefined;
  /** Every problem of an invalid request, as the gateway listed them. */
  issues?: readonly { field: string; message: string }[] | undefined;
  cause?: unknown;
}

export class AirlockClientError extends Error {
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  /** The gateway's error code (a new server may send codes this client does not know yet), or a client code. */
  readonly code: ErrorCode | ClientErrorCode | (string & {});
  /** Dotted path of the offending request field, when the gateway named one. */
  readonly field: string | undefined;
  /** Seconds to wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;
  /** Every problem of an invalid request (`errors` of the body), the first being `field` and the message. */
  readonly issues: readonly { field: string; message: string }[] | undefined;

  constructor(init: AirlockClientErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AirlockClientError';
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.retryAfter = init.retryAfter;
    this.issues = init.issues;
  }
}

export function isAirlockClientError(value: unknown): value is AirlockClientError {
  return value instanceof AirlockClientError;
}
