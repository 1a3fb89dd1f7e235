// The changes a run has made, as the engine tracks them between the script's calls: what gate(),
// propose() and discard() need to know of a change, and what the run settles at its end.
import type { ChangeFile, GateResult, Proposal } from '../contracts/ports.ts';

export interface ChangeState {
  label: string;
  files: ChangeFile[];
  costUsd: number;
  gate: GateResult | null;
  proposal: Proposal | null;
  discarded: boolean;
  /** Left by an isolation: 'worktree' agent. */
  candidate: boolean;
  /** The candidate agent's final answer, the body of its proposal. */
  result: unknown;
}

export class RunChanges {
  readonly #changes = new Map<string, ChangeState>();

  add(id: string, state: ChangeState): void {
    this.#changes.set(id, state);
  }

  /** The live change `id` names, or an error telling the script what to pass instead. */
  require(id: unknown, callee: string): ChangeState {
    const state = typeof id === 'string' ? this.#changes.get(id) : undefined;
    if (!state) throw new Error(`${callee}: ${String(id)} is not a change of this run: pass the object change() returned`);
    if (state.discarded) throw new Error(`${callee}: change ${String(id)} (${state.label}) was discarded`);
    return state;
  }

  entries(): IterableIterator<[string, ChangeState]> {
    return this.#changes.entries();
  }
}
