// Who holds a queued job or an active run: the process's role, host, pid and start time. The
// start time tells a recycled pid (a restarted container reuses the same small pids) from the
// process that claimed the work, so work of a process that is gone can be handed back safely.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AppQueue } from './jobs.ts';
import type { RunRegistry } from './run-registry.ts';

// A process's own name, or one part of it (`…/intake-2/`, a thread that claims on its own).
const HOLDER = /^(app|worker):([^:]+):(\d+):(\d+)\/(?:[a-z]+-\d+\/)?$/;

export function holderName(role: 'app' | 'worker'): string {
  return `${role}:${hostname()}:${process.pid}:${startTime(process.pid) ?? 0}/`;
}

/** Field 22 of /proc/<pid>/stat, in clock ticks since boot; null when there is no such process. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has exited: its work is not being done.
    if (fields[0] === 'Z') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** A holder on this host whose process is no longer the one that claimed the work. Other hosts' are never judged. */
export function holderGone(holder: string, host = hostname()): boolean {
  const match = HOLDER.exec(holder);
  if (!match || match[2] !== host) return false;
  if (match[4] === '0') return false;
  return startTime(Number(match[3])) !== match[4];
}

/**
 * Hands back the jobs and runs of this host's processes that are gone; returns how many holders.
 * A leased queue (PostgreSQL) hands nothing back by pid: a gone holder's leases lapse, and whoever
 * claims its jobs next takes its runs over (RunRegistry.begin, reactivate).
 */
export async function releaseGoneHolders(queue: Pick<AppQueue, 'holders' | 'releaseHolder' | 'leaseSeconds'>, registry: RunRegistry): Promise<number> {
  if (queue.leaseSeconds !== null) return 0;
  const gone = [...new Set([...(await queue.holders()), ...(await registry.holders())])].filter((holder) => holderGone(holder));
  for (const holder of gone) {
    await queue.releaseHolder(holder);
    await registry.interrupt(holder);
  }
  return gone.length;
}
