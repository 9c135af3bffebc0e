// Builds the gateway's webhooks from the configuration: delivery settings, the secrets provider that holds the
// `whsec_` signing secrets (the egress proxy's: AIRLOCK_SECRETS_DIR, else AIRLOCK_SECRET_<NAME> variables), the
// system resolver, and the tenant policies (subscriptions, callback_secret_ref) when intent tokens are on. In
// NATS mode callbacks, deliveries and the delivery log live in JetStream streams every gateway shares
// (callback-registry.ts, jetstream-dispatcher.ts, jetstream-delivery-log.ts) and the shared lifecycle stream is
// routed (lifecycle-router.ts); embedded mode keeps them in memory and follows the process's feed.

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
import { JetStreamCallbackRegistry } from './callback-registry.ts';
import { JetStreamDeliveryLog } from './jetstream-delivery-log.ts';
import { JetStreamWebhookDispatcher } from './jetstream-dispatcher.ts';
import { Webhooks } from './webhooks.ts';

export async function createWebhooks(
  config: Config,
  logger: Logger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv: Readonly<Record<string, string | undefined>> = {},
  /** NATS mode: the connection, and the name of the lifecycle stream every gateway and worker publishes to. */
  nats?: { nc: NatsConnection; lifecycleStream: string },
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
  if (!nats) {
    return new Webhooks({
      settings,
      secrets,
      resolver: systemResolver,
      logger,
      ...(policies ? { policies } : {}),
    });
  }
  const { nc } = nats;
  // Kept as long as the events that may still be routed to them.
  const retentionMs = config.AIRLOCK_EVENTS_RETENTION_SECONDS * 1000;
  const log = await JetStreamDeliveryLog.open({ nc, retentionMs, logger });
  const dispatcher = await JetStreamWebhookDispatcher.open({
    nc,
    settings,
    addresses: new AddressCheck({ allowances: settings.allowances }),
    resolver: systemResolver,
    secrets,
    log,
    logger,
  });
  const webhooks = new Webhooks({
    settings,
    secrets,
    resolver: systemResolver,
    logger,
    ...(policies ? { policies } : {}),
    delivery: { dispatcher, log },
    callbacks: await JetStreamCallbackRegistry.open(nc, retentionMs),
  });
  try {
    await webhooks.followStream(nc, nats.lifecycleStream);
  } catch (error) {
    await webhooks.close();
    throw error;
  }
  return webhooks;
}
