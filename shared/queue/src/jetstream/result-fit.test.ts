import { describe, expect, it } from 'vitest';
import { newExecution, successResult } from '../../testing/fixtures.ts';
import type { StoredExecution } from './execution-records.ts';
import { fitRecord } from './result-fit.ts';

function finishedRecord(stdout: string, stderr = '', files = false): StoredExecution {
  const result = { ...successResult(stdout), stderr };
  if (files) result.files = [{ path: 'out.bin', size: 3000, encoding: 'base64', content: 'A'.repeat(4000) }];
  return { execution: { ...newExecution('acme'), status: 'finished', result }, requestHash: 'h' };
}

const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('fitRecord', () => {
  it('returns a record that fits unchanged', () => {
    const record = finishedRecord('small');
    expect(fitRecord(record, 10_000)).toBe(record);
  });

  it('drops output files first, then cuts the longer stream, flagging what it cut', () => {
    const withFiles = finishedRecord('x'.repeat(100), '', true);
    const noFiles = fitRecord(withFiles, size(withFiles) - 1000);
    expect(noFiles.execution.result?.files).toBeUndefined();
    expect(noFiles.execution.result?.stdout).toBe('x'.repeat(100));

    const big = finishedRecord('o'.repeat(50_000), 'e'.repeat(5_000));
    const fitted = fitRecord(big, 20_000);
    expect(size(fitted)).toBeLessThanOrEqual(20_000);
    expect(fitted.execution.result?.outcome).toBe('success');
    expect(fitted.execution.result?.truncated).toEqual({ stdout: true, stderr: false });
    expect(fitted.execution.result?.stderr).toBe('e'.repeat(5_000));
    expect(big.execution.result?.stdout.length).toBe(50_000);
  });

  it('fits output that JSON escapes or that is made of wide characters', () => {
    for (const text of ['\u0001'.repeat(20_000), '😀'.repeat(20_000)]) {
      const fitted = fitRecord(finishedRecord(text), 10_000);
      expect(size(fitted)).toBeLessThanOrEqual(10_000);
      expect(fitted.execution.result?.stdout.isWellFormed()).toBe(true);
    }
  });
});
