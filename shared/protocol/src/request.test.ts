import { describe, expect, it } from 'vitest';
import { canonicalEgressHost, ExecutionRequest, FIELD_BOUNDS } from './request.ts';
import { parseOrThrow } from './validation.ts';

const HELLO = { language: 'javascript', code: 'console.log(1)' };

/** The coded error of a request that does not parse. */
function refusal(input: unknown) {
  try {
    parseOrThrow(ExecutionRequest, input);
  } catch (error) {
    const { code, field, message } = error as { code: string; field?: string; message: string };
    return { code, field, message };
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

describe('ExecutionRequest', () => {
  it('fills every default: no files, stdin, args, env or metadata, backend auto, no network', () => {
    expect(ExecutionRequest.parse(HELLO)).toEqual({
      ...HELLO,
      files: [],
      stdin: '',
      args: [],
      env: {},
      limits: {},
      backend: 'auto',
      network: { egress: 'none' },
      metadata: {},
    });
  });

  it('takes a full request as given, with egress hosts in canonical form', () => {
    const request = ExecutionRequest.parse({
      ...HELLO,
      files: [{ path: 'lib/a.js', content: 'eA==', encoding: 'base64' }],
      stdin: 'in',
      args: ['a'],
      env: { MODE: 'x' },
      limits: { wall_time_ms: 500, memory_mb: 64 },
      backend: 'isolate',
      network: { egress: 'proxy', allow: [{ host: 'API.Example.TEST.', ports: [443], methods: ['GET'] }] },
      metadata: { 'job.id': '7' },
      retry_on_worker_loss: true,
    });
    expect(request.network).toEqual({
      egress: 'proxy',
      allow: [{ host: 'api.example.test', ports: [443], methods: ['GET'] }],
      credentials: [],
    });
    expect(request.files).toEqual([{ path: 'lib/a.js', content: 'eA==', encoding: 'base64' }]);
  });

  it.each([
    ['an unknown field', { ...HELLO, extra: 1 }, 'extra'],
    ['no code', { language: 'javascript' }, 'code'],
    ['an unknown language', { ...HELLO, language: 'cobol' }, 'language'],
    ['NUL in the code', { ...HELLO, code: 'a\u0000b' }, 'code'],
    ['a lone surrogate in stdin', { ...HELLO, stdin: '\ud800' }, 'stdin'],
    ['an absolute path', { ...HELLO, files: [{ path: '/etc/passwd', content: '' }] }, 'files[0].path'],
    ['a .. segment', { ...HELLO, files: [{ path: 'a/../b', content: '' }] }, 'files[0].path'],
    [
      'a repeated path',
      {
        ...HELLO,
        files: [
          { path: 'a', content: '' },
          { path: 'a', content: '' },
        ],
      },
      'files[1].path',
    ],
    [
      'bad base64',
      { ...HELLO, files: [{ path: 'a', content: '@@', encoding: 'base64' }] },
      'files[0].content',
    ],
    ['a reserved env name', { ...HELLO, env: { NODE_OPTIONS: '--x' } }, 'env.NODE_OPTIONS'],
    ['too many args', { ...HELLO, args: Array(FIELD_BOUNDS.args + 1).fill('a') }, 'args'],
    ['a limit below its floor', { ...HELLO, limits: { wall_time_ms: 9 } }, 'limits.wall_time_ms'],
    ['an unknown limit', { ...HELLO, limits: { disk_mb: 1 } }, 'limits.disk_mb'],
    ['backend none', { ...HELLO, backend: 'none' }, 'backend'],
    ['egress with no rule', { ...HELLO, network: { egress: 'proxy', allow: [] } }, 'network.allow'],
    [
      'an egress URL instead of a host',
      { ...HELLO, network: { egress: 'proxy', allow: [{ host: 'https://a.test/' }] } },
      'network.allow[0].host',
    ],
    [
      'a lower-case method',
      { ...HELLO, network: { egress: 'proxy', allow: [{ host: 'a.test', methods: ['get'] }] } },
      'network.allow[0].methods[0]',
    ],
    ['an upper-case metadata key', { ...HELLO, metadata: { Job: '1' } }, 'metadata.Job'],
  ])('refuses %s: invalid_request naming the field', (_what, input, field) => {
    const error = refusal(input);
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe(field);
    expect(error.message.startsWith(field === undefined ? '' : `${field}: `)).toBe(true);
  });
});

describe('canonicalEgressHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['API.Example.COM.', 'api.example.com'],
    ['*.Example.com', '*.example.com'],
    ['*.GitHub.com', '*.github.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['0x7f.1', '127.0.0.1'],
  ])('%s is %s', (input, canonical) => {
    expect(canonicalEgressHost(input)).toBe(canonical);
  });

  it.each([
    '',
    'a b',
    'x.test:80',
    'u@x.test',
    'x.test/path',
    '[::1]',
    '*',
    '*.com',
    'a.*.com',
    '*.*.a.test',
    'a..b',
    '-a.test',
    `${'a'.repeat(64)}.test`,
    '%61.test',
  ])('%j is not a host or pattern', (input) => {
    expect(canonicalEgressHost(input)).toBeUndefined();
  });
});
