// Helpers for the @airlock/client test files: the error a client call rejects with, checked to be an
// AirlockClientError (a coded gateway answer or a client code), so a test can assert its status, code and field.

import { AirlockClientError } from '@airlock/client';
import { expect } from 'vitest';

/** The AirlockClientError `promise` rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<AirlockClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AirlockClientError);
  return error as AirlockClientError;
}
