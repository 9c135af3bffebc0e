// Who is asking: the caller of a request as the gateway authenticated it and the audit log records it, and the
// RFC 8693 delegation chain it may carry. The one definition of both: the authorizer's principal extends
// Caller, and every audit record takes its identity fields from a Caller. Must never hold a token or a secret.

import { z } from 'zod';

/** One link of an RFC 8693 delegation chain: `sub` acts for the token's subject, `act` for `sub`. */
export interface Actor {
  sub: string;
  act?: Actor | undefined;
  [claim: string]: unknown;
}

export const Actor: z.ZodType<Actor> = z.looseObject({
  sub: z.string().min(1).max(256),
  get act() {
    return Actor.optional();
  },
});

/** The caller of a request: its tenant and, with intent tokens, the token's subject, issuer, jti and chain. */
export interface Caller {
  tenant: string;
  /** `sub` of the intent token: the agent; null in local development mode. */
  subject: string | null;
  issuer: string | null;
  jti: string | null;
  /** The delegation chain, recorded as sent; null when there is none. */
  act: Actor | null;
}
