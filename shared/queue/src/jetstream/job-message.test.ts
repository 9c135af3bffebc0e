import { describe, expect, it } from 'vitest';
import { REQUEST } from '../../testing/fixtures.ts';
import { splitOutput } from './event-publisher.ts';
import { encodeJobMessage, parseJobMessage } from './job-message.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('job messages', () => {
  it('round-trips a job', () => {
    const job = { id: 'ex_1', tenant: 'acme', request: REQUEST };
    expect(parseJobMessage(bytes(encodeJobMessage(job)))).toEqual({ ok: true, job });
  });

  it('refuses what does not validate, saying why', () => {
    expect(parseJobMessage(bytes('not json'))).toEqual({ ok: false, reason: 'job message is not JSON' });
    expect(parseJobMessage(bytes('[1]'))).toMatchObject({ ok: false });
    expect(parseJobMessage(bytes('{"id":"ex_1"}'))).toEqual({
      ok: false,
      reason: 'job message lacks its id or tenant',
    });
    const badRequest = JSON.stringify({
      id: 'ex_2',
      tenant: 'acme',
      request: { language: 'cobol', code: '' },
    });
    expect(parseJobMessage(bytes(badRequest))).toEqual({
      ok: false,
      reason: 'job message carries an invalid request',
    });
  });
});

describe('splitOutput', () => {
  it('leaves short output whole and splits long output at character boundaries', () => {
    expect(splitOutput('short', 16)).toEqual(['short']);
    const text = `${'a'.repeat(40)}${'é'.repeat(20)}${'😀'.repeat(10)}`;
    const pieces = splitOutput(text, 16);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) {
      expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(16);
      expect(piece.isWellFormed()).toBe(true);
    }
  });
});
