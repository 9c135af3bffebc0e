// Test data for the host IPC parsers (host-messages.ts): a well-formed result message of a successful run, which
// a test changes field by field. Test-only; never imported by the host or the guest.

/** A result message as a host sends it, with `overrides` on top. */
export function resultMessage<T extends Record<string, unknown>>(overrides: T) {
  return {
    type: 'result',
    outcome: 'success',
    exit_code: 0,
    reason: null,
    truncated: { stdout: false, stderr: false },
    ...overrides,
  };
}
