// Turns what a failed isolate task rejected with into the text a user sees on stderr. Thrown guest values
// arrive here only as copies made by isolated-vm (plain data or an Error carrying strings), so formatting them
// runs no guest code. Must never show host stack frames or host file paths.

import { inspect } from 'node:util';
import { GuestModuleError } from './guest-modules.ts';

/** isolated-vm appends this frame, then the host's own frames, to the stack of an error from the guest. */
const BOUNDARY = '\n    at (<isolated-vm boundary>)';
/** isolated-vm's message when the thrown value was an object it would not copy. */
const NOT_AN_ERROR = 'An object was thrown from supplied code within isolated-vm';
const MAX_DESCRIPTION_CHARS = 64 * 1024;

export function describeGuestError(error: unknown): string {
  let text: string;
  if (error instanceof GuestModuleError) {
    text = error.message;
  } else if (error instanceof Error && error.message.startsWith(NOT_AN_ERROR)) {
    text =
      'Uncaught exception: the program threw a value that is not an Error (only Errors and primitives are shown)';
  } else if (error instanceof Error) {
    const stack = typeof error.stack === 'string' ? error.stack : '';
    const cut = stack.indexOf(BOUNDARY);
    // An error without the boundary frame was raised host-side (e.g. while linking): its stack is the host's.
    text = cut === -1 ? `${error.name}: ${error.message}` : stack.slice(0, cut);
  } else {
    text = `Uncaught ${inspect(error, { depth: 4, breakLength: 80 })}`;
  }
  return text.length > MAX_DESCRIPTION_CHARS ? `${text.slice(0, MAX_DESCRIPTION_CHARS)}…` : text;
}
