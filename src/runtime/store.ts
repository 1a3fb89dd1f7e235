// Whether the process holding a run is alive. The store's types are in contracts/store.ts.
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

/** A run marked running whose process is gone was killed or crashed: it can be resumed. */
export const isRunLive = (run: Pick<RunRecord, 'status' | 'pid'>): boolean =>
  run.status === 'running' && run.pid !== null && isProcessAlive(run.pid);
