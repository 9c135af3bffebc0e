// The reason a canceled run gives: what its AbortSignal was aborted with (the sandbox shutting down, the session
// closed), or "canceled by the caller". It must never pass on an AbortError's own message.

export function cancelReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string' && reason.length > 0) return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'canceled by the caller';
}
