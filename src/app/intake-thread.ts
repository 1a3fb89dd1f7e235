// The intake's thread in `foreman app`: its own Probot (same credentials, same process, so the
// key stays where it was), its own connections to the store. Messages: 'wake' and 'stop' in,
// 'queued' (work for the worker) and 'stopped' out.
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { createProbot } from 'probot';
import { openAppBackend } from './backend.ts';
import { IntakeLoop } from './intake-loop.ts';
import { appLog, type LogSettings } from './log.ts';
import { openStore } from '../service/runs.ts';

export interface IntakeThreadData {
  env: NodeJS.ProcessEnv;
  dbFile: string;
  /** PostgreSQL instead of dbFile (DATABASE_URL), and the queue's lease. */
  databaseUrl?: string;
  leaseSeconds?: number;
  holder: string;
  builtinDir: string;
  scheduleIntervalMs?: number;
  log: LogSettings;
  /** How often to tell the supervisor this thread's loop still turns. */
  heartbeatMs?: number;
}

const data = workerData as IntakeThreadData;
const port = parentPort!;
const { queue, registry, close } = await openAppBackend({ home: dirname(data.dbFile), ...(data.databaseUrl ? { databaseUrl: data.databaseUrl } : {}), ...(data.leaseSeconds ? { leaseSeconds: data.leaseSeconds } : {}) });
// The run store, for the spend ledger `/workflow status` reads.
const store = await openStore(dirname(data.dbFile), data.databaseUrl);
// Probot gets the logger now: its own is set only once it has initialized.
const log = appLog(data.log, 'foreman-intake');
const loop = new IntakeLoop({
  probot: createProbot({ env: data.env, overrides: { log } }),
  log,
  queue,
  registry,
  spend: store,
  holder: data.holder,
  builtinDir: data.builtinDir,
  onQueued: () => port.postMessage('queued'),
  ...(data.scheduleIntervalMs !== undefined ? { scheduleIntervalMs: data.scheduleIntervalMs } : {}),
});
loop.start();
const heartbeat = setInterval(() => port.postMessage('alive'), data.heartbeatMs ?? 1_000);
port.on('message', async (message: string) => {
  if (message === 'wake') loop.wake();
  if (message === 'stop') {
    clearInterval(heartbeat);
    await loop.stop();
    await close();
    await store.close();
    port.postMessage('stopped');
    port.close();
  }
});
