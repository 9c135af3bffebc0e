import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

const CANARY = 'canary-secret-7f3a9c';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('redacts authorization headers, tokens, secrets and env values', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    logger.info({ req: { headers: { authorization: `Bearer ${CANARY}` } } }, 'request');
    logger.info({ token: CANARY, job: { env: { KEY: CANARY }, secret: CANARY } }, 'job');
    logger.info({ headers: { 'proxy-authorization': CANARY } }, 'proxy');
    const text = lines.join('');
    expect(lines).toHaveLength(3);
    expect(text).not.toContain(CANARY);
    expect(text).toContain('[redacted]');
  });
});
