// How many gates run at once: one pool of slots per process, sized by the host.
import { availableParallelism } from 'node:os';
import { Semaphore } from '../../runtime/semaphore.ts';

/**
 * Slots for gates: at most `size` hold one at a time, the rest wait in FIFO order. A wait ends
 * early when its signal aborts, so a stopped run never queues behind other runs' gates.
 */
export class GateSlots extends Semaphore {
  constructor(size: number) {
    super(size, 'gate slots');
  }

  get size(): number {
    return this.limit;
  }
}

let processSlots: GateSlots | undefined;

/**
 * The gate slots every runner in this process shares unless given its own: one per CPU core.
 *
 * The rule: gates are CPU-bound, and the CPU belongs to the process (the host), not to a run. So
 * there is one pool per process, sized by the host, and a run's `gate.concurrency` only caps that
 * run's share of it: it can lower, never raise, the gates at once. The pool is not sized from a
 * run's config because that config comes from the repository being run: in a process that runs
 * several repositories' workflows (the GitHub App), one repository could then take every core.
 */
export function processGateSlots(): GateSlots {
  processSlots ??= new GateSlots(availableParallelism());
  return processSlots;
}
