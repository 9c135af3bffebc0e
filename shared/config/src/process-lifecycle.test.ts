import { describe, expect, it } from 'vitest';
import { startCause } from './process-lifecycle.ts';

class StepFailed extends Error {}

/** A start on a cleanup stack whose step fails after `releases` were pushed. */
async function failingStart(releases: Array<() => void>): Promise<void> {
  await using stack = new AsyncDisposableStack();
  for (const release of releases) stack.defer(release);
  throw new StepFailed('the step failed');
}

describe('startCause', () => {
  it('is the step error itself when every release worked', async () => {
    const released: string[] = [];
    const error = await failingStart([() => released.push('a'), () => released.push('b')]).catch((e) => e);
    expect(released).toEqual(['b', 'a']);
    expect(startCause(error)).toBe(error);
    expect(error).toBeInstanceOf(StepFailed);
  });

  it('is the step error when releases failed too (under their SuppressedError)', async () => {
    const released: string[] = [];
    const error = await failingStart([
      () => released.push('a'),
      () => {
        throw new Error('release b failed');
      },
      () => {
        throw new Error('release c failed');
      },
    ]).catch((e) => e);
    expect(released).toEqual(['a']);
    expect(error).toBeInstanceOf(SuppressedError);
    const cause = startCause(error);
    expect(cause).toBeInstanceOf(StepFailed);
    expect((cause as Error).message).toBe('the step failed');
  });
});
