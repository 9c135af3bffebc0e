// The refusals that must teach, the same on every surface (REST, NATS request-reply, MCP over the REST client):
// each body as sent, and the coded error it must get. A server under test runs with the default ceilings
// (memory 1024 MB) and a body limit of 65,536 bytes.

import { expect } from 'vitest';

export const TEST_BODY_LIMIT_BYTES = 65_536;

export interface TeachingCase {
  name: string;
  /** The request body exactly as sent. */
  body: string;
  status: number;
  error: {
    code: string;
    message: string;
    field?: string;
    errors?: { field: string; message: unknown }[];
  };
}

const RESERVED = expect.stringMatching(
  /^env\.LD_PRELOAD: the name is reserved: LD_\*, DYLD_\*, .* change how the loader or the interpreter starts/,
);

export const TEACHING_CASES: TeachingCase[] = [
  {
    name: 'every issue at once, an unknown key with "did you mean", a reserved env name, a limit above the ceiling',
    body: JSON.stringify({
      lenguage: 'javascript',
      code: 1,
      env: { LD_PRELOAD: '/tmp/x.so' },
      limits: { memory_mb: 100_000 },
    }),
    status: 400,
    error: {
      code: 'invalid_request',
      field: 'lenguage',
      message: 'lenguage: unknown field; did you mean "language"?',
      errors: [
        { field: 'lenguage', message: 'lenguage: unknown field; did you mean "language"?' },
        {
          field: 'language',
          message:
            'language: expected one of "javascript"|"typescript"|"python"|"bash"|"c"|"cpp"|"go"|"rust"|"java"|"ruby"|"php"',
        },
        { field: 'code', message: 'code: Invalid input: expected string, received number' },
        { field: 'env.LD_PRELOAD', message: RESERVED },
        {
          field: 'limits.memory_mb',
          message: 'limits.memory_mb: 100000 is above the server ceiling of 1024',
        },
      ],
    },
  },
  {
    name: 'a memory limit above the server ceiling names that ceiling, not the protocol bound',
    body: JSON.stringify({ language: 'javascript', code: '1', limits: { memory_mb: 100_000 } }),
    status: 400,
    error: {
      code: 'invalid_request',
      field: 'limits.memory_mb',
      message: 'limits.memory_mb: 100000 is above the server ceiling of 1024',
      errors: [
        {
          field: 'limits.memory_mb',
          message: 'limits.memory_mb: 100000 is above the server ceiling of 1024',
        },
      ],
    },
  },
  {
    name: 'JSON that breaks says the line and column',
    body: '{"language": "javascript",\n "code": }',
    status: 400,
    error: { code: 'invalid_json', message: 'the request body is not valid JSON: at line 2 column 10' },
  },
  {
    name: 'an empty body is called empty',
    body: '',
    status: 400,
    error: { code: 'invalid_json', message: 'the request body is empty: send a JSON object' },
  },
  {
    name: 'a body over the limit states the limit',
    body: JSON.stringify({ language: 'javascript', code: `// ${'x'.repeat(TEST_BODY_LIMIT_BYTES)}` }),
    status: 413,
    error: {
      code: 'payload_too_large',
      message:
        "the request body is larger than this server's limit of 65536 bytes (AIRLOCK_BODY_LIMIT_BYTES); " +
        'send large inputs as fewer or smaller files',
    },
  },
];
