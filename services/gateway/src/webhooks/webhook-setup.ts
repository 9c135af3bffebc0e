// Builds the gateway's webhooks from the configuration: delivery settings, the secrets provider that holds the
// `whsec_` signing secrets (the egress proxy's: AIRLOCK_SECRETS_DIR, else AIRLOCK_SECRET_<NAME> variables), the
// system resolver, and the tenant policies (subscriptions, callback_secret_ref) when intent tokens are on. In
// NATS mode deliveries go through a JetStream stream (jetstream-dispatcher.ts) instead of memory.

import { loadTenantPolicies } from '@airlock/auth';
import type { Config } from '@airlock/config';
import {
  AddressCheck,
  EnvSecretsProvider,
  FileSecretsProvider,
  type SecretsProvider,
  systemResolver,
} from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import type { NatsConnection } from '@nats-io/transport-node';
import { webhookSettings } from '../settings.ts';
import { DeliveryLog } from './delivery-log.ts';
import { JetStreamWebhookDispatcher } from './jetstream-dispatcher.ts';
import { Webhooks } from './webhooks.ts';

export async function createWebhooks(
  config: Config,
  logger: Logger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv: Readonly<Record<string, string | undefined>> = {},
  /** NATS mode: deliveries go through the JetStream stream every gateway shares. */
  nc?: NatsConnection,
): Promise<Webhooks> {
  const tokens = Boolean(config.AIRLOCK_JWKS_FILE || config.AIRLOCK_JWKS_URL);
  const policies =
    tokens && config.AIRLOCK_TENANT_POLICY_FILE
      ? await loadTenantPolicies(config.AIRLOCK_TENANT_POLICY_FILE)
      : undefined;
  const settings = webhookSettings(config);
  const secrets: SecretsProvider = config.AIRLOCK_SECRETS_DIR
    ? new FileSecretsProvider(config.AIRLOCK_SECRETS_DIR)
    : new EnvSecretsProvider(secretsEnv);
  let delivery: { dispatcher: JetStreamWebhookDispatcher; log: DeliveryLog } | undefined;
  if (nc) {
    const log = new DeliveryLog();
    const dispatcher = await JetStreamWebhookDispatcher.open({
      nc,
      settings,
      addresses: new AddressCheck({ allowances: settings.allowances }),
      resolver: systemResolver,
      secrets,
      log,
      logger,
    });
    delivery = { dispatcher, log };
  }
  return new Webhooks({
    settings,
    secrets,
    resolver: systemResolver,
    logger,
    ...(policies ? { policies } : {}),
    ...(delivery ? { delivery } : {}),
  });
}
