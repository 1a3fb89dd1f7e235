// The App's doors' backend options: --database-url (or DATABASE_URL) and --lease-seconds (or
// FOREMAN_LEASE_SECONDS), checked before anything connects.
import { checkDatabaseUrl } from '../runtime/database-url.ts';
import { parseLeaseSeconds, type BackendSettings } from './backend.ts';

export function backendSettings(
  values: { 'database-url'?: string; 'lease-seconds'?: string },
  env: NodeJS.ProcessEnv,
  UsageError: new (message: string) => Error,
): Omit<BackendSettings, 'home'> {
  const databaseUrl = values['database-url'] ?? (env.DATABASE_URL || undefined);
  try {
    if (databaseUrl) checkDatabaseUrl(databaseUrl);
    const leaseName = values['lease-seconds'] !== undefined ? '--lease-seconds' : 'FOREMAN_LEASE_SECONDS';
    const leaseSeconds = parseLeaseSeconds(values['lease-seconds'] ?? env.FOREMAN_LEASE_SECONDS, leaseName);
    return { ...(databaseUrl ? { databaseUrl } : {}), leaseSeconds };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
