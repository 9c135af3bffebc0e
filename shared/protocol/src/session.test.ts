import { describe, expect, it } from 'vitest';
import { CellRequest, isSessionId, newSessionId, SESSION_BOUNDS, SessionRequest } from './session.ts';

describe('SessionRequest', () => {
  it('fills the defaults: backend auto, no limits, no network, no metadata', () => {
    expect(SessionRequest.parse({ language: 'python' })).toEqual({
      language: 'python',
      backend: 'auto',
      limits: {},
      network: { egress: 'none' },
      metadata: {},
    });
  });

  it.each([
    [{ language: 'bash' }, 'language'],
    [{ language: 'python', network: { egress: 'proxy', allow: [{ host: 'a.test' }] } }, 'network.egress'],
    [{ language: 'python', idle_timeout_seconds: 0 }, 'idle_timeout_seconds'],
    [
      { language: 'python', max_lifetime_seconds: SESSION_BOUNDS.lifetimeSeconds + 1 },
      'max_lifetime_seconds',
    ],
    [{ language: 'python', code: '1' }, ''],
  ])('refuses %j at %s', (input, field) => {
    const parsed = SessionRequest.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.join('.')).toBe(field);
  });
});

describe('CellRequest', () => {
  it('takes code, files, stdin and the per-cell limits; memory is the session’s', () => {
    expect(CellRequest.parse({ code: 'x = 1', limits: { wall_time_ms: 100 } })).toEqual({
      code: 'x = 1',
      files: [],
      stdin: '',
      limits: { wall_time_ms: 100 },
    });
    const memory = CellRequest.safeParse({ code: 'x', limits: { memory_mb: 64 } });
    expect(memory.success).toBe(false);
    expect(memory.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['memory_mb'] });
  });
});

describe('session ids', () => {
  it('are ses_ and 22 URL-safe characters, and nothing else passes as one', () => {
    const id = newSessionId();
    expect(id).toMatch(/^ses_[A-Za-z0-9_-]{22}$/);
    expect(isSessionId(id)).toBe(true);
    for (const other of ['ses_', `${id}x`, id.replace('ses_', 'ex_'), 'ses_../../../../etc/passwd00']) {
      expect(isSessionId(other)).toBe(false);
    }
  });
});
