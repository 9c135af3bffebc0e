// Every issue of a request at once, unknown keys named with the accepted key they most likely meant, record
// keys refused with their reason, limits above a server's ceiling naming that ceiling.

import { describe, expect, it } from 'vitest';
import { closestKey, fieldIssues } from './field-issues.ts';
import { ExecutionRequest } from './request.ts';
import { requestSchemasWithin } from './within-ceilings.ts';

const SERVER = { wall_time_ms: 60_000, cpu_time_ms: 60_000, memory_mb: 1024, output_bytes: 16_777_216 };

function issuesOf(schema: typeof ExecutionRequest, input: unknown) {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected a failure');
  return fieldIssues(parsed.error, schema);
}

describe('fieldIssues', () => {
  it('names an unknown key with "did you mean", first, beside the other issues', () => {
    expect(issuesOf(ExecutionRequest, { lenguage: 'python', code: 1 })).toEqual([
      { field: 'lenguage', message: 'lenguage: unknown field; did you mean "language"?' },
      {
        field: 'language',
        message:
          'language: expected one of "javascript"|"typescript"|"python"|"bash"|"c"|"cpp"|"go"|"rust"|"java"|"ruby"|"php"',
      },
      { field: 'code', message: 'code: Invalid input: expected string, received number' },
    ]);
  });

  it('lists the accepted keys when none is close, also inside nested objects and unions', () => {
    const issues = issuesOf(ExecutionRequest, {
      language: 'python',
      code: '',
      limits: { wall: 1, zzz: 2 },
      network: { egress: 'proxy', allow: [{ host: 'example.com', prots: [443] }] },
    });
    expect(issues).toEqual([
      { field: 'limits.wall', message: 'limits.wall: unknown field; did you mean "wall_time_ms"?' },
      {
        field: 'limits.zzz',
        message:
          'limits.zzz: unknown field (accepted: wall_time_ms, cpu_time_ms, memory_mb, output_bytes, compile_wall_time_ms)',
      },
      {
        field: 'network.allow[0].prots',
        message: 'network.allow[0].prots: unknown field; did you mean "ports"?',
      },
    ]);
  });

  it('says why an env name is refused', () => {
    const [issue] = issuesOf(ExecutionRequest, {
      language: 'python',
      code: '',
      env: { LD_PRELOAD: '/x.so' },
    });
    expect(issue?.field).toBe('env.LD_PRELOAD');
    expect(issue?.message).toMatch(/^env\.LD_PRELOAD: the name is reserved: LD_\*.*change how the loader/);
  });

  it("refuses a limit above this server's ceiling naming that ceiling, not the protocol's bound", () => {
    const { execution, session, cell } = requestSchemasWithin(SERVER);
    const limits = { memory_mb: 100_000, wall_time_ms: 60_001 };
    expect(issuesOf(execution, { language: 'python', code: '', limits })).toEqual([
      {
        field: 'limits.wall_time_ms',
        message: 'limits.wall_time_ms: 60001 is above the server ceiling of 60000',
      },
      { field: 'limits.memory_mb', message: 'limits.memory_mb: 100000 is above the server ceiling of 1024' },
    ]);
    expect(
      session.safeParse({ language: 'python', limits: { memory_mb: 1025 } }).error?.issues[0]?.message,
    ).toBe('1025 is above the server ceiling of 1024');
    expect(cell.safeParse({ code: '', limits: { memory_mb: 64 } }).error?.issues[0]).toMatchObject({
      code: 'unrecognized_keys',
    });
    expect(execution.safeParse({ language: 'python', code: '', limits: { memory_mb: 1024 } }).success).toBe(
      true,
    );
    expect(execution.safeParse({ language: 'python', code: '', limits: { memory_mb: 7 } }).success).toBe(
      false,
    );
  });
});

describe('closestKey', () => {
  it('finds a misspelling, a case slip or a prefix, and nothing for an unrelated word', () => {
    const keys = ['language', 'code', 'files', 'stdin', 'wall_time_ms'];
    expect(closestKey('lenguage', keys)).toBe('language');
    expect(closestKey('Code', keys)).toBe('code');
    expect(closestKey('wall', keys)).toBe('wall_time_ms');
    expect(closestKey('template', keys)).toBeUndefined();
  });
});
