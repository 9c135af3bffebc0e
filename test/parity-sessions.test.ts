// Parity of session cell output with one-shot jobs (test/parity-output.test.ts): python session cells on runc and
// runsc and JavaScript session cells on the isolate get every byte of single writes of 64 KiB - 1, 64 KiB,
// 64 KiB + 1, 200 KB and 1 MB to stdout and stderr, through print-level and fd-level writes alike; bytes that are
// not UTF-8 arrive as U+FFFD, as in one-shot jobs. Real dockerd, real runsc, real HTTP.

import { describe, expect, it } from 'vitest';
import { useSessionService } from './support/containers.ts';
import { summary, wholeSuccess } from './support/parity.ts';
import { call } from './support/service.ts';

const SLOW = 300_000;
const service = useSessionService();

const SIZES = [65_535, 65_536, 65_537, 200_000, 1_000_000];
const payloads = (letters: string) => SIZES.map((n, i) => `${letters[i]!.repeat(n - 1)}\n`).join('');
const LIMITS = { wall_time_ms: 60_000, output_bytes: 8 * 1024 * 1024 };

/** The text-level writes, then the same through the file descriptors (each payload one write call). */
const PYTHON_CELL = `import os, sys
sizes = ${JSON.stringify(SIZES)}
for i, n in enumerate(sizes):
    sys.stdout.write('abcde'[i] * (n - 1) + '\\n')
for i, n in enumerate(sizes):
    sys.stderr.write('vwxyz'[i] * (n - 1) + '\\n')
for i, n in enumerate(sizes):
    os.write(1, b'ABCDE'[i:i + 1] * (n - 1) + b'\\n')
for i, n in enumerate(sizes):
    os.write(2, b'VWXYZ'[i:i + 1] * (n - 1) + b'\\n')
`;
const JS_CELL = `const sizes = ${JSON.stringify(SIZES)};
sizes.forEach((n, i) => console.log('abcde'[i].repeat(n - 1)));
sizes.forEach((n, i) => console.error('vwxyz'[i].repeat(n - 1)));
`;
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function open(language: string, backend: string): Promise<string> {
  const response = await call(service().url, 'POST', '/v1/sessions', { language, backend });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id;
}

async function cell(id: string, code: string, extra: Record<string, unknown> = {}): Promise<any> {
  const response = await call(service().url, 'POST', `/v1/sessions/${id}/executions`, { code, ...extra });
  expect(response.status, JSON.stringify(response.body).slice(0, 2000)).toBe(201);
  return response.body;
}

const closeSession = (id: string) => call(service().url, 'DELETE', `/v1/sessions/${id}`);

describe('session cell output parity', () => {
  it.each(['docker', 'gvisor'])(
    'python session on %s: single writes up to 1 MB to stdout and stderr arrive whole, text- and fd-level',
    async (backend) => {
      const id = await open('python', backend);
      try {
        const executed = await cell(id, PYTHON_CELL, { limits: LIMITS });
        expect(summary(executed.result)).toEqual(
          wholeSuccess(payloads('abcde') + payloads('ABCDE'), payloads('vwxyz') + payloads('VWXYZ')),
        );
        const binary = await cell(id, "import sys\nsys.stdout.buffer.write(open('blob.bin', 'rb').read())", {
          files: [{ path: 'blob.bin', content: BYTES.toString('base64'), encoding: 'base64' }],
        });
        expect(binary.result).toMatchObject({ outcome: 'success', stdout: new TextDecoder().decode(BYTES) });
      } finally {
        await closeSession(id);
      }
    },
    SLOW,
  );

  it(
    'javascript session on the isolate: console writes up to 1 MB to stdout and stderr arrive whole',
    async () => {
      const id = await open('javascript', 'isolate');
      try {
        const executed = await cell(id, JS_CELL, { limits: LIMITS });
        expect(summary(executed.result)).toEqual(wholeSuccess(payloads('abcde'), payloads('vwxyz')));
      } finally {
        await closeSession(id);
      }
    },
    SLOW,
  );
});
