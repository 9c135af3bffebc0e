// Helpers for the @airlock/client test files: one embedded service per file with a client of it, and the error
// a client call rejects with, checked to be an AirlockClientError (a coded gateway answer or a client code), so
// a test can assert its status, code and field.

import { AirlockClient, AirlockClientError } from '@airlock/client';
import { rejectionOf } from '@airlock/testing';
import { type TestService, useService } from './service.ts';

/** The file's embedded service (useService) and one AirlockClient of it, both as getters for inside tests. */
export function useServiceClient(env: Record<string, string> = {}): {
  service: () => TestService;
  client: () => AirlockClient;
} {
  const service = useService(env);
  let client: AirlockClient | undefined;
  return { service, client: () => (client ??= new AirlockClient({ baseUrl: service().url })) };
}

/** The AirlockClientError `promise` rejects with; fails when it resolves or rejects with anything else. */
export const rejection = (promise: Promise<unknown>): Promise<AirlockClientError> =>
  rejectionOf(promise, AirlockClientError);
