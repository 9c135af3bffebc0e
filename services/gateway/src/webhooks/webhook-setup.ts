// Builds the gateway's webhooks from the configuration: delivery settings, the secrets provider that holds the
// `whsec_` signing secrets (the egress proxy's: AIRLOCK_SECRETS_DIR, else AIRLOCK_SECRET_<NAME> variables), the
// system resolver, and the tenant policies (subscriptions, callback_secret_ref) when intent tokens are on.

import { loadTenantPolicies } from '@airlock/auth';
import type { Config } from '@airlock/config';
import { EnvSecretsProvider, FileSecretsProvider, systemResolver } from '@airlock/egress-proxy';
import type { Logger } from '@airlock/logging';
import { webhookSettings } from '../settings.ts';
import { Webhooks } from './webhooks.ts';

export async function createWebhooks(
  config: Config,
  logger: Logger,
  /** Environment for the development secrets provider (only used without AIRLOCK_SECRETS_DIR). */
  secretsEnv: Readonly<Record<string, string | undefined>> = {},
): Promise<Webhooks> {
  const tokens = Boolean(config.AIRLOCK_JWKS_FILE || config.AIRLOCK_JWKS_URL);
  const policies =
    tokens && config.AIRLOCK_TENANT_POLICY_FILE
      ? await loadTenantPolicies(config.AIRLOCK_TENANT_POLICY_FILE)
      : undefined;
  return new Webhooks({
    settings: webhookSettings(config),
    secrets: config.AIRLOCK_SECRETS_DIR
      ? new FileSecretsProvider(config.AIRLOCK_SECRETS_DIR)
      : new EnvSecretsProvider(secretsEnv),
    resolver: systemResolver,
    logger,
    ...(policies ? { policies } : {}),
  });
}
