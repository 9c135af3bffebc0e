// The error a promise rejects with, for tests that assert on a refusal: the test fails when the promise resolves
// or rejects with anything but an instance of the error class it names.

import { expect } from 'vitest';

/** The `type` error `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejectionOf<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}
