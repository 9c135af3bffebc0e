// Ids of executions, sessions and snapshots: unguessable (16 random bytes), URL-safe, and recognisable by
// prefix. Every kind is made and recognised by one idKind, so the forms cannot drift apart.

import { randomBytes } from 'node:crypto';

/** The maker and the recogniser of ids of one kind: `<prefix>_` then 22 base64url characters. */
export function idKind(prefix: string): { make(): string; test(value: string): boolean } {
  const pattern = new RegExp(`^${prefix}_[A-Za-z0-9_-]{22}$`);
  return {
    make: () => `${prefix}_${randomBytes(16).toString('base64url')}`,
    test: (value) => pattern.test(value),
  };
}

const EXECUTION = idKind('ex');

export const newExecutionId = (): string => EXECUTION.make();
export const isExecutionId = (value: string): boolean => EXECUTION.test(value);
