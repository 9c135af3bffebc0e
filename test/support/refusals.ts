// A coded refusal as the tests check it: the HTTP status, and the error's code and the field it names (each
// where the test gives one), from the one error body every surface answers with.

import { expect } from 'vitest';
import type { JsonResponse } from './service.ts';

/** `response` has `status` and an error body carrying `error` (its code and/or field). */
export function expectRefused(
  response: JsonResponse,
  status: number,
  error: { code?: string; field?: string },
): void {
  expect(response.status).toBe(status);
  expect(response.body.error).toMatchObject(error);
}
