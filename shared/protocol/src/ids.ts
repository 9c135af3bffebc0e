// Execution ids: unguessable, URL-safe, and recognisable by prefix.

import { randomBytes } from 'node:crypto';

const EXECUTION_ID = /^ex_[A-Za-z0-9_-]{22}$/;

export function newExecutionId(): string {
  return `ex_${randomBytes(16).toString('base64url')}`;
}

export function isExecutionId(value: string): boolean {
  return EXECUTION_ID.test(value);
}
