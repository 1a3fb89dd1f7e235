// Whether the process holding a run is alive. The store's types are in contracts/store.ts.
import { hostname } from 'node:os';
import type { RunRecord } from '../contracts/store.ts';

export type * from '../contracts/store.ts';

/** Whether a process exists on this machine; a run held by a dead process may be taken over. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This machine, as a shared store records it with a run's pid: a pid names a process of one host only. */
export const THIS_HOST = hostname();

/** The run's holder ran on another host (a shared store): its pid cannot be checked from here. */
export const heldElsewhere = (run: Pick<RunRecord, 'host'>): boolean => run.host !== undefined && run.host !== null && run.host !== THIS_HOST;

/**
 * A run marked running whose process is gone was killed or crashed: it can be resumed. One held
 * on another host counts as live: this host cannot tell.
 */
export const isRunLive = (run: Pick<RunRecord, 'status' | 'pid' | 'host'>): boolean =>
  run.status === 'running' && run.pid !== null && (heldElsewhere(run) || isProcessAlive(run.pid));
