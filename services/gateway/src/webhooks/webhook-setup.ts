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
import { Webhooks, type WebhooksDeps } from './webhooks.ts';

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
  const webhooks = await openNatsWebhooks({
    nc: nats.nc,
    settings,
    secrets,
    resolver: systemResolver,
    logger,
    ...(policies ? { policies } : {}),
    // Kept as long as the events that may still be routed to them.
    retentionMs: config.AIRLOCK_EVENTS_RETENTION_SECONDS * 1000,
  });
  try {
    await webhooks.followStream(nats.nc, nats.lifecycleStream);
  } catch (error) {
    await webhooks.close();
    throw error;
  }
  return webhooks;
}

export interface NatsWebhooksDeps extends Omit<WebhooksDeps, 'delivery' | 'callbacks'> {
  nc: NatsConnection;
  /** How long callbacks and logged attempts are kept. */
  retentionMs: number;
}

/** NATS mode's webhooks: callbacks, deliveries and their log in the streams every gateway shares. */
export async function openNatsWebhooks(deps: NatsWebhooksDeps): Promise<Webhooks> {
  const { nc, retentionMs, ...rest } = deps;
  const callbacks = await JetStreamCallbackRegistry.open(nc, retentionMs);
  const log = await JetStreamDeliveryLog.open({ nc, retentionMs, logger: deps.logger });
  // Last: it starts taking deliveries at once.
  const dispatcher = await JetStreamWebhookDispatcher.open({
    nc,
    settings: deps.settings,
    addresses: new AddressCheck({ allowances: deps.settings.allowances }),
    resolver: deps.resolver,
    secrets: deps.secrets,
    log,
    logger: deps.logger,
    ...(deps.ca ? { ca: deps.ca } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  return new Webhooks({
    ...rest,
    delivery: { dispatcher, log },
    callbacks,
  });
}
