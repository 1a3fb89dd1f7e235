// Where the App's processes share their work: the queue and the run registry. Without a database
// URL, the embedded SQLite file in $FOREMAN_HOME (one host; a gone holder is found by its pid);
// with one, PostgreSQL: pg-boss's queue and the registry's table, for workers on many hosts, whose
// claims are leases that lapse when their holder stops heartbeating.
import { join } from 'node:path';
import { openDatabase } from '../runtime/database-url.ts';
import { DEFAULT_LEASE_SECONDS, isLeaseSeconds, LEASE_RULE, PgBossWorkQueue } from '../runtime/pgboss-queue.ts';
import { SqliteWorkQueue } from '../runtime/sqlite-queue.ts';
import type { CountedQueue } from './health.ts';
import { type AppJobs, type AppQueue } from './jobs.ts';
import { PostgresRunRegistry } from './postgres-run-registry.ts';
import { SqliteRunRegistry, type RunRegistry } from './run-registry.ts';

export interface BackendSettings {
  /** $FOREMAN_HOME: the SQLite file, when there is no database URL. */
  home: string;
  /** DATABASE_URL or --database-url. */
  databaseUrl?: string;
  /** A claim's lease on PostgreSQL (--lease-seconds, FOREMAN_LEASE_SECONDS). */
  leaseSeconds?: number;
}

export interface AppBackend {
  queue: AppQueue & CountedQueue;
  registry: RunRegistry;
  close(): Promise<void>;
}

/** Every kind of job the App queues: pg-boss creates a queue for each on start. */
const APP_JOB_KINDS = ['comment', 'check-action', 'event', 'start', 'resume', 'save'] as const satisfies ReadonlyArray<keyof AppJobs>;

export async function openAppBackend(settings: BackendSettings): Promise<AppBackend> {
  const { databaseUrl } = settings;
  if (!databaseUrl) {
    const file = join(settings.home, 'foreman.db');
    return backend(new SqliteWorkQueue<AppJobs>(file), new SqliteRunRegistry(file));
  }
  // The registry first: it connects with a timeout, so a server that does not answer is told at once.
  const registry = await openDatabase(databaseUrl, (url) => PostgresRunRegistry.open(url));
  try {
    const queue = await openDatabase(databaseUrl, (url) => PgBossWorkQueue.open<AppJobs>(url, APP_JOB_KINDS, settings.leaseSeconds === undefined ? {} : { leaseSeconds: settings.leaseSeconds }));
    return backend(queue, registry);
  } catch (error) {
    await registry.close();
    throw error;
  }
}

function backend(queue: AppQueue & CountedQueue, registry: RunRegistry): AppBackend {
  return {
    queue,
    registry,
    close: async () => {
      await queue.close();
      await registry.close();
    },
  };
}

/** --lease-seconds (or FOREMAN_LEASE_SECONDS): how long a claim outlives its holder's last heartbeat. */
export function parseLeaseSeconds(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return DEFAULT_LEASE_SECONDS;
  const seconds = Number(value);
  if (!isLeaseSeconds(seconds)) {
    throw new Error(`${name} must be ${LEASE_RULE}; got ${JSON.stringify(value)} (leave it unset for ${DEFAULT_LEASE_SECONDS})`);
  }
  return seconds;
}
