// The host's own check of a python session cell's result frame before anything of it is believed: it must name
// the cell the host sent, and every byte the cell produced (stdout, stderr, display entries and value together)
// must fit the cell's output_bytes, as counted here; exception fields have their own bound. The kernel counts and
// caps the same way, so a frame over a bound means the protocol was broken: it is refused, never cut and kept.
// It must never pass on a byte it has not counted.

import type { CellException, ExecutionResult, MimeBundle } from '@airlock/protocol';
import type { CellJob } from '../../sandbox.ts';
import { KernelProtocolError, type KernelResult } from './kernel-protocol.ts';

/** Bound of each of an exception's name, message and traceback (UTF-8 bytes); the kernel's is the same. */
export const EXCEPTION_FIELD_BYTES = 64 * 1024;

/** What the host accepted of a cell: the outputs as they go into the result and the audit record. */
export interface AcceptedCell {
  status: KernelResult['status'];
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: ExecutionResult['truncated'];
  display: MimeBundle[];
  value: MimeBundle | null;
  exception: CellException | null;
  /** Whether /work/out was a folder after the cell (the kernel's word): its output files are then collected. */
  outFolder: boolean;
}

export function bundleBytes(bundle: MimeBundle | null): number {
  let bytes = 0;
  for (const [mime, content] of Object.entries(bundle ?? {})) {
    bytes += Buffer.byteLength(mime, 'utf8') + Buffer.byteLength(content, 'utf8');
  }
  return bytes;
}

/** The result frame of `cell` as the host accepts it; throws KernelProtocolError when it must not be believed. */
export function acceptResult(frame: KernelResult, cell: CellJob): AcceptedCell {
  if (frame.id !== cell.executionId) throw new KernelProtocolError('a result that names another cell');
  const stdout = Buffer.from(frame.stdout, 'base64');
  const stderr = Buffer.from(frame.stderr, 'base64');
  let bytes = stdout.length + stderr.length + bundleBytes(frame.value);
  for (const bundle of frame.display) bytes += bundleBytes(bundle);
  const cap = cell.limits.output_bytes;
  if (bytes > cap) {
    throw new KernelProtocolError(`a result of ${bytes} output bytes (the cell's limit is ${cap})`);
  }
  const exception = frame.exception;
  if (exception !== null) {
    for (const text of [exception.name, exception.message, exception.traceback]) {
      if (Buffer.byteLength(text, 'utf8') > EXCEPTION_FIELD_BYTES) {
        throw new KernelProtocolError('a result whose exception is over its bound');
      }
    }
  }
  return {
    status: frame.status,
    exit_code: frame.exit_code,
    stdout: stdout.toString('utf8'),
    stderr: stderr.toString('utf8'),
    truncated: { ...frame.truncated },
    display: frame.display,
    value: frame.value,
    exception,
    outFolder: frame.out,
  };
}

/** The facts of a cell the host measured itself, beside the kernel's answer. */
export interface CellFacts {
  /** Whether the cell's wall time ran out (it was interrupted). */
  interrupted: boolean;
  wallMs: number;
  peak: number | null;
  cpuMs: number | null;
  limits: CellJob['limits'];
}

/** The result of a cell the kernel answered: its outcome from the answer's status and whether it was interrupted. */
export function answeredResult(cell: AcceptedCell, facts: CellFacts): ExecutionResult {
  const { interrupted, wallMs, peak, cpuMs, limits } = facts;
  const timeoutReason = `wall time limit of ${limits.wall_time_ms} ms exceeded`;
  const outcome = interrupted
    ? 'timeout'
    : cell.status === 'output_limit'
      ? 'output_limit'
      : cell.status === 'ok'
        ? 'success'
        : cell.status === 'interrupted'
          ? 'canceled'
          : 'error';
  const reason =
    outcome === 'timeout'
      ? `${timeoutReason}; the cell was interrupted and the session kept`
      : outcome === 'output_limit'
        ? `output exceeded the limit of ${limits.output_bytes} bytes`
        : outcome === 'canceled'
          ? 'the cell was interrupted'
          : null;
  return {
    outcome,
    exit_code: outcome === 'success' || outcome === 'error' ? cell.exit_code : null,
    signal: null,
    stdout: cell.stdout,
    stderr: cell.stderr,
    truncated: cell.truncated,
    usage: { cpu_ms: cpuMs, wall_ms: wallMs, memory_peak_bytes: peak },
    reason,
    display: cell.display,
    value: cell.value,
    exception: cell.exception,
  };
}
