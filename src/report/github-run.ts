// The texts of a run on GitHub (DESIGN §5): each phase's check, the summary check, the progress
// comment while the run goes, when it ends, pauses or cannot start. Pure functions of what the run
// did; src/github/run-report.ts writes them, throttled.
import type { RunOutcome } from '../runtime/engine.ts';
import type { PhaseStats, RunSummary } from '../runtime/progress.ts';
import { usedCache, zeroUsage } from '../contracts/usage.ts';
import type { Finding } from './findings.ts';
import { cacheCell, count, formatMs, formatTokens, formatUsd, replayText, tokensText } from './format.ts';
import { codeFence, cutAtLine, inlineCode, oneLine, tableCell } from './markdown.ts';
import { OUTCOME_HEADINGS } from './outcome.ts';
import { phaseTableMarkdown } from './phase-table.ts';

/** GitHub's limit on a check's summary and text, and on a comment, with room to spare. */
export const MAX_OUTPUT_CHARS = 65_000;

/**
 * What the check and the comment offer: only what answers there. The App answers the Stop and
 * Resume buttons and `/workflow stop|resume`; the Action (one job per comment, its journal gone
 * with the runner) can offer neither buttons nor a resume.
 */
export interface RunControls {
  /** Stop and Resume buttons on the summary check (requested_action). */
  buttons: boolean;
  /** How to stop the run, a sentence for the summary check and one for the comment; null: none. */
  stop: { check: string; comment: (runId: string) => string } | null;
  /** How to resume a run that did not complete, a sentence; null: it cannot be. */
  resume: ((runId: string) => string) | null;
}

export const APP_CONTROLS: RunControls = {
  buttons: true,
  stop: { check: 'Stop it with the **Stop** button, or comment `/workflow stop`.', comment: (runId) => `Stop it with \`/workflow stop ${runId}\` or the **Stop** button on the check.` },
  resume: (runId) => `Resume it with \`/workflow resume ${runId}\` or the **Resume** button: finished agents are not paid for again.`,
};

export interface AgentRow {
  label: string;
  status: string;
  tokens: number;
  costUsd: number;
  elapsedMs: number;
  error?: string;
}

export interface ProposalRow {
  label: string;
  url: string | null;
  branch: string;
}

/** What the texts say of the run besides its figures. */
export interface RunView {
  runId: string | null;
  workflow: string;
  /** What started the run: "`/workflow audit auth` by @octocat". */
  trigger: string;
  headSha: string;
  summaryUrl: string | null;
  /** The workflow's declared phases, shown as the plan before they start. */
  plan: readonly string[];
  proposals: readonly ProposalRow[];
  controls: RunControls;
  /** A phase's check run, its title links there. */
  phaseUrl: (title: string) => string | null;
}

// ---- checks --------------------------------------------------------------------------------------

export function phaseStartingSummary(view: RunView, title: string): string {
  return `Phase **${tableCell(title)}** of run \`${view.runId}\`.`;
}

const NO_STATS: Omit<PhaseStats, 'title' | 'usage'> = { agents: 0, done: 0, failed: 0, stopped: 0, running: 0, queued: 0, tokens: 0, costUsd: 0, elapsedMs: 0, replayed: 0, refused: 0 };
const statusIcon = (status: string): string => (status === 'done' ? '✅' : status === 'replayed' ? '↩️' : status === 'stopped' ? '⏹️' : '❌');

export function phaseCheckOutput(view: RunView, title: string, agents: readonly AgentRow[], stats: PhaseStats | null): { title: string; summary: string; text: string } {
  const s = stats ?? NO_STATS;
  // The cache's figures where the phase read or wrote it, as the summary check's table shows them.
  const cache = stats && usedCache(stats.usage) ? stats.usage : null;
  // The same counts as the CLI's table and `foreman show`: done is answered (replayed included), a stop's aborts are stopped.
  const heading = `${count(s.done, 'agent')} done${s.failed ? `, ${s.failed} failed` : ''}${s.stopped ? `, ${s.stopped} stopped` : ''}${s.refused ? `, ${s.refused} refused` : ''}${s.running ? `, ${s.running} running` : ''} · ${tokensText(stats?.usage ?? zeroUsage(), 'token')} · ${formatUsd(s.costUsd)} · ${formatMs(s.elapsedMs)}`;
  const summary = [
    `Phase **${tableCell(title)}** of run \`${view.runId}\` (${view.workflow}).`,
    '',
    `| done | failed | stopped | replayed | running | queued | tokens |${cache ? ' cache |' : ''} cost | time |`,
    `| ---: | ---: | ---: | ---: | ---: | ---: | ---: |${cache ? ' ---: |' : ''} ---: | ---: |`,
    `| ${s.done} | ${s.failed} | ${s.stopped} | ${s.replayed} | ${s.running} | ${s.queued} | ${formatTokens(s.tokens)} |${cache ? ` ${cacheCell(cache)} |` : ''} ${formatUsd(s.costUsd)} | ${formatMs(s.elapsedMs)} |`,
  ].join('\n');
  const rows = agents.map((a) => `| ${tableCell(a.label)} | ${statusIcon(a.status)} ${a.status}${a.error ? `: ${tableCell(a.error.slice(0, 200))}` : ''} | ${formatTokens(a.tokens)} | ${formatUsd(a.costUsd)} | ${formatMs(a.elapsedMs)} |`);
  const more = s.agents > agents.length ? [`\n…and ${s.agents - agents.length} more agents.`] : [];
  const text = ['| agent | status | tokens | cost | time |', '| --- | --- | ---: | ---: | ---: |', ...rows, ...more].join('\n');
  return { title: heading.slice(0, 255), summary: cutAtLine(summary, MAX_OUTPUT_CHARS), text: cutAtLine(text, MAX_OUTPUT_CHARS) };
}

export function runningSummaryTitle(summary: RunSummary): string {
  return `${count(summary.agents, 'agent')} · ${tokensText(summary.usage, 'token')} · ${formatUsd(summary.costUsd)}`;
}

export function summaryCheckText(view: RunView, summary: RunSummary, outcome?: RunOutcome, findings = 0): string {
  const text = [
    `Run \`${view.runId}\` of **${view.workflow}**, started by ${view.trigger}.`,
    '',
    phaseTableMarkdown(summary, view.phaseUrl),
    ...(outcome ? ['', outcomeLine(outcome, findings, view.proposals.length)] : view.controls.stop ? ['', view.controls.stop.check] : []),
  ].join('\n');
  return cutAtLine(text, MAX_OUTPUT_CHARS);
}

export function outcomeTitle(view: RunView, outcome: RunOutcome, findings: number): string {
  const s = outcome.summary;
  return `${outcome.status} · ${count(s.agents, 'agent')} · ${count(findings, 'finding')} · ${count(view.proposals.length, 'pull request')} · ${formatUsd(s.costUsd)}`;
}

// ---- the progress comment -------------------------------------------------------------------------

function heading(view: RunView, state: string): string {
  return `### Foreman · \`${view.workflow}\` · ${state}`;
}

/** Every state of the comment opens alike: the state, who started the run on what, its figures. */
function commentHead(view: RunView, state: string, runId: string | null, summary: RunSummary): string[] {
  return [
    heading(view, state),
    '',
    `Run \`${runId}\`, started by ${view.trigger} on ${view.headSha.slice(0, 7)}.${view.summaryUrl ? ` [Checks](${view.summaryUrl})` : ''}`,
    '',
    phaseTableMarkdown(summary, view.phaseUrl),
  ];
}

function proposalLines(view: RunView): string[] {
  if (view.proposals.length === 0) return [];
  return ['', '**Pull requests**', '', ...view.proposals.map((p) => `- ${p.url ?? `branch \`${p.branch}\``}: ${tableCell(p.label)}`)];
}

export function liveCommentText(view: RunView, summary: RunSummary): string {
  const started = new Set(summary.phases.map((p) => p.title));
  const waiting = view.plan.filter((title) => !started.has(title));
  return [
    ...commentHead(view, '⏳ running', view.runId, summary),
    ...(waiting.length ? ['', `Still to come: ${waiting.map((w) => `**${tableCell(w)}**`).join(', ')}.`] : []),
    ...proposalLines(view),
    ...(view.controls.stop ? ['', view.controls.stop.comment(view.runId ?? '')] : []),
  ].join('\n');
}

/** The run is not over: the next worker continues it from its journal in this same comment. */
export function pausedCommentText(view: RunView, summary: RunSummary): string {
  return [
    ...commentHead(view, '⏸️ paused', view.runId, summary),
    ...proposalLines(view),
    '',
    'Foreman is restarting (a deploy, or its server was stopped). The run continues on its own when a worker is back, from its journal: finished agents are not paid for again.',
  ].join('\n');
}

export function notStartedCommentText(view: RunView, reason: string): string {
  return `${heading(view, '❌ not started')}\n\n${reason}`;
}

/** How many findings the final comment lists; all of them are annotated on the checks. */
const LISTED_FINDINGS = 20;

export function finalCommentText(view: RunView, outcome: RunOutcome, findings: readonly Finding[], sarifNote: string): string {
  const shown = findings.slice(0, LISTED_FINDINGS);
  const findingLines = shown.map((f) => `- ${inlineCode(oneLine(`${f.file}${f.line ? `:${f.line}` : ''}`))}${f.severity ? ` (${f.severity})` : ''}: ${tableCell(f.title)}`);
  const moreFindings = findings.length > shown.length ? [`- …and ${findings.length - shown.length} more, annotated on the checks`] : [];
  return [
    ...commentHead(view, OUTCOME_HEADINGS[outcome.status], outcome.runId, outcome.summary),
    '',
    outcomeLine(outcome, findings.length, view.proposals.length),
    ...(shown.length ? ['', '**Findings**', '', ...findingLines, ...moreFindings] : []),
    ...proposalLines(view),
    ...(outcome.status === 'completed' ? resultBlock(outcome.result) : []),
    ...(sarifNote ? ['', sarifNote] : []),
    ...(outcome.status === 'completed' || !view.controls.resume ? [] : ['', view.controls.resume(outcome.runId)]),
  ].join('\n');
}

/** The text within GitHub's limit, with the marker (never cut off) at its end. */
export function commentBody(text: string, marker: string | null): string {
  const tail = marker === null ? '' : `\n\n${marker}`;
  return cutAtLine(text, MAX_OUTPUT_CHARS - tail.length) + tail;
}

/** How much of a run's result the final comment shows; the whole of it is in the store (and the Action's outputs). */
const RESULT_CHARS = 6_000;

/**
 * The script's result, collapsed: a workflow without findings (a summary, a review) has nothing
 * else to show. It is the model's text, so it goes in a fence no backtick run inside can close.
 */
function resultBlock(result: unknown): string[] {
  if (result === null || result === undefined) return [];
  const isText = typeof result === 'string';
  let body = isText ? result : JSON.stringify(result, null, 2);
  if (body.length > RESULT_CHARS) body = `${body.slice(0, RESULT_CHARS)}\n… (${body.length - RESULT_CHARS} more characters)`;
  const fence = codeFence(body);
  return ['', '<details><summary>Result</summary>', '', `${fence}${isText ? 'text' : 'json'}`, body, fence, '', '</details>'];
}

function outcomeLine(outcome: RunOutcome, findings: number, prs: number): string {
  const refused = outcome.summary.refused ? [`${count(outcome.summary.refused, 'agent')} refused`] : [];
  const replayed = outcome.summary.resume ? [replayText(outcome.summary.resume)] : [];
  const parts = [`**${outcome.status}**`, ...refused, count(findings, 'finding'), count(prs, 'pull request'), `${formatUsd(outcome.summary.costUsd)}`, ...replayed];
  return `${parts.join(' · ')}${outcome.error ? `\n\n> ${tableCell(outcome.error.slice(0, 2_000))}` : ''}`;
}
