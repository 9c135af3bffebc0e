// Turns the first zod issue into a field path and a short problem, the same way for token claims, policy
// files and key sets. An unknown key is named as the field itself ("intent.gpu is not a known field"); a bad
// record key is quoted, since it may itself hold dots.

import { fieldPath } from '@airlock/protocol';
import type { z } from 'zod';

export function firstIssue(error: z.ZodError): { field: string; problem: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { field: '', problem: 'is invalid' };
  if (issue.code === 'unrecognized_keys') {
    return { field: fieldPath([...issue.path, issue.keys[0] ?? '']), problem: 'is not a known field' };
  }
  if (issue.code === 'invalid_key') {
    const key = String(issue.path.at(-1));
    const reason = issue.issues[0]?.message ?? 'is invalid';
    return { field: fieldPath(issue.path.slice(0, -1)), problem: `key ${JSON.stringify(key)}: ${reason}` };
  }
  return { field: fieldPath(issue.path), problem: issue.message };
}
