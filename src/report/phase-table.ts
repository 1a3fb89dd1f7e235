// A run's figures per phase, as a table: one model (its columns, each with how a phase's cell and
// the total's read), and the three views people see it in: the terminal's live table (text), the
// check run and progress comment (Markdown), the Action's job summary (HTML cells).
import type { PhaseStats, RunSummary } from '../runtime/progress.ts';
import { totalTokens, usedCache } from '../contracts/usage.ts';
import { cacheCell, formatMs, formatTokens, formatUsd } from './format.ts';
import { htmlText, tableCell } from './markdown.ts';

export type PhaseColumn = 'agents' | 'done' | 'failed' | 'stopped' | 'running' | 'queued' | 'tokens' | 'cache' | 'searches' | 'fetches' | 'cost' | 'time';

type Count = 'agents' | 'done' | 'failed' | 'stopped' | 'running' | 'queued';
const sum = (summary: RunSummary, field: Count) => summary.phases.reduce((n, p) => n + p[field], 0);

const COLUMNS: Record<PhaseColumn, { cell: (phase: PhaseStats) => string; total: (summary: RunSummary) => string }> = {
  agents: { cell: (p) => String(p.agents), total: (s) => String(s.agents) },
  done: { cell: (p) => String(p.done), total: (s) => String(sum(s, 'done')) },
  failed: { cell: (p) => String(p.failed), total: (s) => String(sum(s, 'failed')) },
  stopped: { cell: (p) => String(p.stopped), total: (s) => String(sum(s, 'stopped')) },
  running: { cell: (p) => String(p.running), total: (s) => String(sum(s, 'running')) },
  queued: { cell: (p) => String(p.queued), total: (s) => String(sum(s, 'queued')) },
  tokens: { cell: (p) => formatTokens(p.tokens), total: (s) => formatTokens(totalTokens(s.usage)) },
  cache: { cell: (p) => cacheCell(p.usage), total: (s) => cacheCell(s.usage) },
  searches: { cell: (p) => String(p.usage.webSearches ?? 0), total: (s) => String(s.usage.webSearches ?? 0) },
  fetches: { cell: (p) => String(p.usage.webFetches ?? 0), total: (s) => String(s.usage.webFetches ?? 0) },
  cost: { cell: (p) => formatUsd(p.costUsd), total: (s) => formatUsd(s.costUsd) },
  time: { cell: (p) => formatMs(p.elapsedMs), total: (s) => formatMs(s.elapsedMs) },
};

export interface PhaseTable {
  columns: PhaseColumn[];
  /** Each phase: its title as the script wrote it (each view makes it safe), and its cells. */
  rows: Array<{ title: string; cells: string[] }>;
  /** The run's totals, a cell per column. */
  total: string[];
}

export function phaseTable(summary: RunSummary, columns: readonly PhaseColumn[]): PhaseTable {
  return {
    columns: [...columns],
    rows: summary.phases.map((phase) => ({ title: phase.title, cells: columns.map((c) => COLUMNS[c].cell(phase)) })),
    total: columns.map((c) => COLUMNS[c].total(summary)),
  };
}

/**
 * The columns after tokens: the cache's where the run read or wrote it, the web's each where the
 * run made such a request (most runs never reach the web).
 */
function usageColumns(summary: RunSummary): PhaseColumn[] {
  return [...(usedCache(summary.usage) ? ['cache' as const] : []), ...(summary.usage.webSearches ? ['searches' as const] : []), ...(summary.usage.webFetches ? ['fetches' as const] : [])];
}

// ---- text: the CLI's live table ----------------------------------------------------------------

/** Aligned columns; the stopped column appears once an agent was stopped: most runs never have one. */
export function phaseTableText(summary: RunSummary): string {
  const stopped = summary.phases.some((p) => p.stopped > 0);
  const columns: PhaseColumn[] = ['done', 'failed', ...(stopped ? ['stopped' as const] : []), 'running', 'queued', 'tokens', ...usageColumns(summary), 'cost', 'time'];
  const table = phaseTable(summary, columns);
  const header = ['phase', ...columns.map((c) => (c === 'time' ? 'elapsed' : c))];
  const rows = [...table.rows.map((r) => [r.title, ...r.cells]), ['total', ...table.total]];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

// ---- Markdown: the summary check and the progress comment ---------------------------------------

const markdownColumns = (summary: RunSummary): PhaseColumn[] => ['done', 'failed', 'stopped', 'running', 'queued', 'tokens', ...usageColumns(summary), 'cost', 'time'];
/** The total row sums only what adds up across phases at a glance: done, tokens, the cache, web requests, cost, time. */
const MARKDOWN_TOTALS = new Set<PhaseColumn>(['done', 'tokens', 'cache', 'searches', 'fetches', 'cost', 'time']);

/** `linkOf`: a phase's check run, its title links there. */
export function phaseTableMarkdown(summary: RunSummary, linkOf: (title: string) => string | null): string {
  if (summary.phases.length === 0) return '_No agents yet._';
  const table = phaseTable(summary, markdownColumns(summary));
  const rows = table.rows.map(({ title, cells }) => {
    const link = linkOf(title);
    return `| ${link ? `[${tableCell(title)}](${link})` : tableCell(title)} | ${cells.join(' | ')} |`;
  });
  const total = table.total.map((cell, i) => (MARKDOWN_TOTALS.has(table.columns[i]) ? cell : ''));
  return [
    `| phase | ${table.columns.join(' | ')} |`,
    `| --- |${' ---: |'.repeat(table.columns.length)}`,
    ...rows,
    `| **total** |${total.map((cell) => (cell ? ` ${cell} |` : ' |')).join('')}`,
  ].join('\n');
}

// ---- HTML: the Action's job summary --------------------------------------------------------------

export type HtmlTableCell = string | { data: string; header: true };

/** Rows for @actions/core's `summary.addTable`, whose cells are HTML: titles are escaped here. */
export function phaseTableHtml(summary: RunSummary): HtmlTableCell[][] {
  const columns: PhaseColumn[] = ['agents', 'failed', 'tokens', ...usageColumns(summary), 'cost', 'time'];
  const table = phaseTable(summary, columns);
  return [
    ['phase', ...columns].map((data) => ({ data, header: true as const })),
    ...table.rows.map(({ title, cells }) => [htmlText(title), ...cells]),
    ['total', ...table.total],
  ];
}
