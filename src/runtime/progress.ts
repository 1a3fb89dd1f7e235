// Folds run events into per-phase figures: the one summary behind the live table, --json output
// and (later) check runs.
import { MAX_PHASE_TITLES } from '../contracts/caps.ts';
import type { RunEdit, RunEvent } from '../contracts/events.ts';
import type { ChangeSummary } from '../contracts/ports.ts';
import { addUsage, totalTokens, zeroUsage, type Usage } from '../contracts/usage.ts';

export interface PhaseStats {
  title: string;
  /** Agents finished (done, failed, stopped or replayed). */
  agents: number;
  /** Finished with an answer, replayed ones included. */
  done: number;
  failed: number;
  /** Aborted by a stop or a cap; agents never started are still `queued`. */
  stopped: number;
  replayed: number;
  /** Agents a cap refused before they ran; not counted in `agents`. */
  refused: number;
  running: number;
  queued: number;
  tokens: number;
  usage: Usage;
  costUsd: number;
  elapsedMs: number;
}

export interface RunSummary {
  phases: PhaseStats[];
  agents: number;
  usage: Usage;
  costUsd: number;
  elapsedMs: number;
  /** Agents refused by a cap or a stop, over all phases. */
  refused?: number;
  /** Changes made by write agents, in the order they were made. */
  changes?: ChangeSummary[];
  /** Set on a resumed run. */
  resume?: ResumeSummary;
}

/**
 * A resumed run: its journaled calls (agent, change, gate, propose, discard, workflow), how many
 * an earlier attempt had completed, the earlier entries no call asked for, and what was edited.
 */
export interface ResumeSummary {
  calls: number;
  replayed: number;
  unused: number;
  edited: RunEdit[];
}

/** The row that agents of phases past MAX_PHASE_TITLES share. */
export const OTHER_PHASES = '(other phases)';

export class ProgressTracker {
  readonly #phases = new Map<string, PhaseStats & { startedAt: number; endedAt: number }>();
  readonly #now: () => number;
  readonly #startedAt: number;
  #currentPhase: string | null = null;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#startedAt = now();
  }

  get currentPhase(): string | null {
    return this.#currentPhase;
  }

  apply(event: RunEvent): void {
    switch (event.type) {
      case 'phase':
        this.#currentPhase = event.title;
        this.#phase(event.title);
        break;
      case 'agent-queued':
        this.#phase(event.phase).queued += 1;
        break;
      case 'agent-started': {
        const p = this.#phase(event.phase);
        p.queued = Math.max(0, p.queued - 1);
        p.running += 1;
        break;
      }
      case 'agent-finished': {
        const p = this.#phase(event.phase);
        if (event.status === 'replayed') p.queued = Math.max(0, p.queued - 1);
        else p.running = Math.max(0, p.running - 1);
        p.agents += 1;
        if (event.status === 'done' || event.status === 'replayed') p.done += 1;
        if (event.status === 'failed') p.failed += 1;
        if (event.status === 'stopped') p.stopped += 1;
        if (event.status === 'replayed') p.replayed += 1;
        addUsage(p.usage, event.usage);
        p.tokens = totalTokens(p.usage);
        p.costUsd += event.costUsd;
        p.endedAt = this.#now();
        break;
      }
      case 'agent-refused': {
        // A stop's refusals stay queued (a resume runs them); a cap's are refused until one is raised.
        if (event.cap === null) break;
        const p = this.#phase(event.phase);
        p.queued = Math.max(0, p.queued - 1);
        p.refused += 1;
        break;
      }
      case 'change-made':
        this.#changes.set(event.changeId, { id: event.changeId, label: event.label, gate: null, branch: null, pr: null, status: 'open', candidate: event.candidate });
        break;
      case 'gate-finished': {
        const change = this.#changes.get(event.changeId);
        if (change) change.gate = event.passed ? 'passed' : 'failed';
        break;
      }
      case 'change-proposed': {
        const change = this.#changes.get(event.changeId);
        if (change) Object.assign(change, { status: 'proposed', branch: event.branch, pr: event.url });
        break;
      }
      case 'change-discarded': {
        const change = this.#changes.get(event.changeId);
        if (change) change.status = 'discarded';
        break;
      }
      default:
        break;
    }
  }

  readonly #changes = new Map<string, ChangeSummary>();

  #phase(given: string) {
    // Agents name their phase freely (opts.phase), so rows are capped as phase() titles are: past
    // the cap, new titles share one row instead of growing the summary with the agent count.
    const title = this.#phases.has(given) || this.#phases.size < MAX_PHASE_TITLES ? given : OTHER_PHASES;
    let p = this.#phases.get(title);
    if (!p) {
      const now = this.#now();
      p = { title, agents: 0, done: 0, failed: 0, stopped: 0, replayed: 0, refused: 0, running: 0, queued: 0, tokens: 0, usage: zeroUsage(), costUsd: 0, elapsedMs: 0, startedAt: now, endedAt: now };
      this.#phases.set(title, p);
    }
    return p;
  }

  summary(): RunSummary {
    const now = this.#now();
    const usage = zeroUsage();
    let agents = 0;
    let refused = 0;
    let costUsd = 0;
    const phases = [...this.#phases.values()].map(({ startedAt, endedAt, ...p }) => {
      agents += p.agents;
      refused += p.refused;
      costUsd += p.costUsd;
      addUsage(usage, p.usage);
      const active = p.running + p.queued > 0;
      return { ...p, usage: { ...p.usage }, elapsedMs: Math.round((active ? now : endedAt) - startedAt) };
    });
    const changes = [...this.#changes.values()].map((change) => ({ ...change }));
    return { phases, agents, usage, costUsd, elapsedMs: Math.round(now - this.#startedAt), ...(refused > 0 ? { refused } : {}), ...(changes.length > 0 ? { changes } : {}) };
  }
}
