// How the CLI shows a run: a live phase table on a terminal, one line per event elsewhere, and
// the final `--json` object.
import { createLogUpdate } from 'log-update';
import type { RunEvent } from '../runtime/events.ts';
import type { RunOutcome } from '../runtime/engine.ts';
import { ProgressTracker, type RunSummary } from '../runtime/progress.ts';
import { totalTokens } from '../runtime/types.ts';
import { formatMs, formatTokens, formatUsd } from '../report/format.ts';
import { describeEvent } from '../report/event-lines.ts';

export { describeEvent };

export interface Reporter {
  onEvent(event: RunEvent): void;
  close(): void;
}


/** Non-terminal output: one line per event, stable for logs and CI. */
export class LineReporter implements Reporter {
  readonly #write: (line: string) => void;
  constructor(write: (line: string) => void) {
    this.#write = write;
  }
  onEvent(event: RunEvent): void {
    const line = describeEvent(event);
    if (line) this.#write(line);
  }
  close(): void {}
}

// Scrolled above the live table; agent events only move its figures.
const PERSISTED_EVENTS = new Set<RunEvent['type']>(['log', 'warn', 'run-started', 'change-made', 'gate-finished', 'change-proposed', 'change-discarded']);

/** Terminal output: the phase table redrawn in place; logs scroll above it. */
export class LiveTableReporter implements Reporter {
  readonly #tracker = new ProgressTracker();
  readonly #log: ReturnType<typeof createLogUpdate>;
  readonly #timer: NodeJS.Timeout;
  #dirty = true;

  constructor(stream: NodeJS.WriteStream) {
    this.#log = createLogUpdate(stream);
    // A steady tick keeps elapsed time moving; events only mark the table dirty so a burst of
    // 1,000 agent events costs one redraw.
    this.#timer = setInterval(() => this.#render(), 100);
    this.#timer.unref();
  }

  onEvent(event: RunEvent): void {
    this.#tracker.apply(event);
    if (PERSISTED_EVENTS.has(event.type)) {
      const line = describeEvent(event);
      if (line) this.#log.persist(line);
    }
    this.#dirty = true;
  }

  #render(force = false): void {
    if (!this.#dirty && !force) return;
    this.#dirty = false;
    this.#log(renderPhaseTable(this.#tracker.summary()));
  }

  close(): void {
    clearInterval(this.#timer);
    this.#render(true);
    this.#log.done();
  }
}

export function renderPhaseTable(summary: RunSummary): string {
  const header = ['phase', 'done', 'failed', 'running', 'queued', 'tokens', 'cost', 'elapsed'];
  const rows = summary.phases.map((p) => [p.title, String(p.agents), String(p.failed), String(p.running), String(p.queued), formatTokens(p.tokens), formatUsd(p.costUsd), formatMs(p.elapsedMs)]);
  const total = totalTokens(summary.usage);
  rows.push(['total', String(summary.agents), String(summary.phases.reduce((n, p) => n + p.failed, 0)), String(summary.phases.reduce((n, p) => n + p.running, 0)), String(summary.phases.reduce((n, p) => n + p.queued, 0)), formatTokens(total), formatUsd(summary.costUsd), formatMs(summary.elapsedMs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The `--json` object of DESIGN §6. */
export function runJson(outcome: RunOutcome): Record<string, unknown> {
  const s = outcome.summary;
  return {
    runId: outcome.runId,
    status: outcome.status,
    result: outcome.result,
    ...(outcome.error ? { error: outcome.error } : {}),
    phases: s.phases.map((p) => ({ title: p.title, agents: p.agents, failed: p.failed, tokens: p.tokens, costUsd: round(p.costUsd), elapsedMs: p.elapsedMs })),
    agents: s.agents,
    usage: s.usage,
    costUsd: round(s.costUsd),
    changes: (s.changes ?? []).map(({ id, label, gate, branch, pr }) => ({ id, label, gate, branch, pr })),
  };
}

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;
