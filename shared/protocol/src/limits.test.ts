import { describe, expect, it } from 'vitest';
import { LIMIT_KEYS, resolveLimits } from './limits.ts';

const POLICY = {
  defaults: { wall_time_ms: 10_000, cpu_time_ms: 10_000, memory_mb: 512, output_bytes: 1024 },
  ceilings: { wall_time_ms: 60_000, cpu_time_ms: 60_000, memory_mb: 256, output_bytes: 4096 },
};

describe('resolveLimits', () => {
  it('applies the defaults, each at most its ceiling, and keeps what was asked within them', () => {
    expect(resolveLimits({}, POLICY)).toEqual({
      wall_time_ms: 10_000,
      cpu_time_ms: 10_000,
      memory_mb: 256,
      output_bytes: 1024,
    });
    expect(resolveLimits({ wall_time_ms: 60_000, output_bytes: 1 }, POLICY)).toMatchObject({
      wall_time_ms: 60_000,
      output_bytes: 1,
    });
  });

  it('refuses a limit above its ceiling, naming it; it never clamps', () => {
    expect(() => resolveLimits({ memory_mb: 257 }, POLICY)).toThrow(
      expect.objectContaining({
        code: 'invalid_request',
        field: 'limits.memory_mb',
        message: 'limits.memory_mb: 257 is above the server ceiling of 256',
      }),
    );
  });

  it('knows every limit by one list of names', () => {
    expect(LIMIT_KEYS).toEqual(['wall_time_ms', 'cpu_time_ms', 'memory_mb', 'output_bytes']);
  });
});
