// What accepting work needs of the webhooks (the gateway's webhooks/ implements it): check a request's callback
// before anything is accepted, and keep it for its subject until that subject's life ends. Must never let a
// request name a callback on a server that delivers none: `checkCallback` refuses it with `callback_refused`.

import { AirlockError, type Callback } from '@airlock/protocol';

export interface Callbacks {
  /** Throws AirlockError `callback_refused` when the callback's URL would not be dialled. */
  check(tenant: string, callback: Callback): Promise<unknown>;
  /** Keeps the checked callback for `subject` (an execution or session id) until its life ends. */
  register(tenant: string, subject: string, callback: Callback): Promise<void>;
}

/** Checks the callback; refused when this server delivers no callbacks. */
export async function checkCallback(
  callbacks: Callbacks | undefined,
  tenant: string,
  callback: Callback,
): Promise<unknown> {
  if (!callbacks)
    throw new AirlockError('callback_refused', 'this server does not deliver callbacks', {
      field: 'callback.url',
    });
  return callbacks.check(tenant, callback);
}
