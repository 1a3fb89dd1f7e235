// How the CLI shows a run: a live phase table on a terminal, one line per event elsewhere, and
// the final `--json` object.
import { createLogUpdate } from 'log-update';
import type { RunEvent } from '../contracts/events.ts';
import { cacheReadShare, type Usage } from '../contracts/usage.ts';
import type { RunOutcome } from '../runtime/engine.ts';
import { ProgressTracker, type RunSummary } from '../runtime/progress.ts';
import { describeEvent } from '../report/event-lines.ts';
import { phaseTableText } from '../report/phase-table.ts';

export { describeEvent };

export interface Reporter {
  /** The run exists: `run <id>` is the first line, before any figure. */
  started(runId: string): void;
  /** A line of Foreman's own (a note, the stop): kept, never drawn over. */
  note(line: string): void;
  /**
   * The run is being stopped: `line` says so, once. The warnings the stop causes (one per agent
   * the script can no longer start) are not shown: they say nothing the stop did not.
   */
  stopping(line: string): void;
  onEvent(event: RunEvent): void;
  close(): void;
}

/** Non-terminal output: one line per event, stable for logs and CI. */
export class LineReporter implements Reporter {
  readonly #write: (line: string) => void;
  #stopping = false;
  constructor(write: (line: string) => void) {
    this.#write = write;
  }
  started(runId: string): void {
    this.#write(`run ${runId}`);
  }
  note(line: string): void {
    this.#write(line);
  }
  stopping(line: string): void {
    this.#stopping = true;
    this.#write(line);
  }
  onEvent(event: RunEvent): void {
    if (this.#stopping && event.type === 'warn') return;
    const line = describeEvent(event);
    if (line) this.#write(line);
  }
  close(): void {}
}

// Scrolled above the live table; agent events only move its figures.
const PERSISTED_EVENTS = new Set<RunEvent['type']>(['log', 'warn', 'run-started', 'change-made', 'gate-finished', 'change-proposed', 'change-discarded']);

/**
 * Terminal output: the phase table redrawn in place below every line written above it. All of
 * stderr goes through here while a run is shown: log-update erases the lines it drew last, so a
 * line written past it would be erased too (the run id was, before it was written here).
 */
export class LiveTableReporter implements Reporter {
  readonly #tracker = new ProgressTracker();
  readonly #log: ReturnType<typeof createLogUpdate>;
  #timer: NodeJS.Timeout | null = null;
  #runId: string | null = null;
  #stopping = false;
  #dirty = true;

  constructor(stream: NodeJS.WriteStream) {
    this.#log = createLogUpdate(stream);
  }

  started(runId: string): void {
    this.#runId = runId;
    this.#log.persist(`run ${runId}`);
    // A steady tick keeps elapsed time moving; events only mark the table dirty so a burst of
    // 1,000 agent events costs one redraw. No table before the id: the id is the first line.
    this.#timer = setInterval(() => this.#render(), 100);
    this.#timer.unref();
    this.#render(true);
  }

  note(line: string): void {
    // persist() takes the table away; the next tick draws it again below the line, so a burst of
    // log lines costs one redraw.
    this.#log.persist(line);
    this.#dirty = true;
  }

  stopping(line: string): void {
    this.#stopping = true;
    this.note(line);
  }

  onEvent(event: RunEvent): void {
    this.#tracker.apply(event);
    if (PERSISTED_EVENTS.has(event.type) && !(this.#stopping && event.type === 'warn')) {
      const line = describeEvent(event);
      if (line) this.note(line);
    }
    this.#dirty = true;
  }

  #render(force = false): void {
    if (this.#runId === null || (!this.#dirty && !force)) return;
    this.#dirty = false;
    // The id again below the figures: the first line scrolls away under a long log.
    this.#log(`${renderPhaseTable(this.#tracker.summary())}\nrun ${this.#runId}${this.#stopping && this.#timer ? ' (stopping)' : ''}`);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#render(true);
    this.#log.done();
  }
}

/** The live table's text view of the one phase-table model (src/report/phase-table.ts). */
export const renderPhaseTable = phaseTableText;

/** The `--json` object of DESIGN §6. */
export function runJson(outcome: RunOutcome): Record<string, unknown> {
  const s = outcome.summary;
  return {
    runId: outcome.runId,
    status: outcome.status,
    result: outcome.result,
    ...(outcome.error ? { error: outcome.error } : {}),
    phases: s.phases.map((p) => ({ title: p.title, agents: p.agents, failed: p.failed, tokens: p.tokens, cache: cacheJson(p.usage), ...webRequests(p.usage), costUsd: round(p.costUsd), elapsedMs: p.elapsedMs })),
    agents: s.agents,
    usage: s.usage,
    cache: cacheJson(s.usage),
    costUsd: round(s.costUsd),
    changes: (s.changes ?? []).map(({ id, label, gate, branch, pr }) => ({ id, label, gate, branch, pr })),
    ...(s.resume ? { resume: s.resume } : {}),
  };
}

/** A phase's web searches and fetches, where it made any (`usage` carries the run's). */
const webRequests = (usage: Usage): Pick<Usage, 'webSearches' | 'webFetches'> => ({
  ...(usage.webSearches ? { webSearches: usage.webSearches } : {}),
  ...(usage.webFetches ? { webFetches: usage.webFetches } : {}),
});

/**
 * The cache's figures: tokens read, written (both TTLs), the part written for 1 hour, and the share
 * of prompt tokens read from it (0 to 1, null without prompt tokens).
 */
function cacheJson(usage: Usage): { read: number; written: number; written1h: number; shareRead: number | null } {
  const share = cacheReadShare(usage);
  return { read: usage.cacheRead, written: usage.cacheWrite, written1h: usage.cacheWrite1h ?? 0, shareRead: share === null ? null : Math.round(share * 1e4) / 1e4 };
}

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;
