// The answers of a service that cannot write its audit log or its execution store: a 503 with its code, the
// message that says why no work is accepted, and Retry-After 5 in the body and the header. The literals live
// here once, so every surface (REST, NATS, embedded and scaled) is held to the same words.

import { expect } from 'vitest';
import type { JsonResponse } from './service.ts';

export interface UnavailableError {
  code: string;
  message: string;
  retry_after: number;
}

export const AUDIT_UNAVAILABLE: UnavailableError = {
  code: 'audit_unavailable',
  message: 'the audit log cannot be written, so no work is accepted until it can; retry later',
  retry_after: 5,
};

export const STORE_UNAVAILABLE: UnavailableError = {
  code: 'store_unavailable',
  message: 'the execution store cannot be written, so no work is accepted until it can; retry later',
  retry_after: 5,
};

/** `response` is a 503 carrying exactly `error`, with Retry-After: 5. */
export function expectUnavailable(response: JsonResponse, error: UnavailableError): void {
  expect(response.status).toBe(503);
  expect(response.body.error).toEqual(error);
  expect(response.headers.get('retry-after')).toBe('5');
}
