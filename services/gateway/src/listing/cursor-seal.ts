// Cursors the API hands out (listing pages, event feed positions), sealed: the position inside, bound by an
// HMAC-SHA256 to the kind of list and to the tenant it was made for. A cursor that was altered, made up, made
// for another list or for another tenant is refused (400 `invalid_request`, field `cursor`): it can never
// move a caller into another tenant's data. The key lives in the service's store, so cursors outlive restarts.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { AirlockError } from '@airlock/protocol';

export type CursorKind = 'executions' | 'sessions' | 'events';

const TAG_BYTES = 16;

export class CursorSeal {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new TypeError(`Expected a cursor key of 32 bytes or more, got ${key.length}`);
    this.#key = key;
  }

  seal(kind: CursorKind, tenant: string, position: string): string {
    const payload = Buffer.from(position, 'utf8').toString('base64url');
    return `${payload}.${this.#tag(kind, tenant, payload).toString('base64url')}`;
  }

  /** The position inside, or a coded 400 naming `field`. */
  open(kind: CursorKind, tenant: string, cursor: string, field = 'query.cursor'): string {
    const dot = cursor.indexOf('.');
    const payload = dot < 0 ? '' : cursor.slice(0, dot);
    const tag = dot < 0 ? Buffer.alloc(0) : Buffer.from(cursor.slice(dot + 1), 'base64url');
    const expected = this.#tag(kind, tenant, payload);
    if (payload === '' || tag.length !== TAG_BYTES || !timingSafeEqual(tag, expected)) {
      throw new AirlockError(
        'invalid_request',
        `${field}: not a cursor this service gave you for this list (it may be altered or another caller's)`,
        { field },
      );
    }
    return Buffer.from(payload, 'base64url').toString('utf8');
  }

  #tag(kind: CursorKind, tenant: string, payload: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(kind)
      .update('\u0000')
      .update(tenant)
      .update('\u0000')
      .update(payload)
      .digest()
      .subarray(0, TAG_BYTES);
  }
}
