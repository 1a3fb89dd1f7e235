// A run as GitHub shows it (DESIGN §5): one check run per phase with its figures and per-agent
// table, one summary check with Stop and Resume buttons, one progress comment edited in place,
// findings as annotations (and SARIF when asked). Fed the run's events; every GitHub call is
// throttled per check or comment, so a 1,000-agent fan-out makes a handful of requests.
import type { Octokit } from '@octokit/core';
import type { RunOutcome } from '../runtime/engine.ts';
import type { RunEvent } from '../runtime/events.ts';
import { ProgressTracker, type PhaseStats, type RunSummary } from '../runtime/progress.ts';
import { totalTokens } from '../runtime/types.ts';
import { count, formatMs, formatTokens, formatUsd } from '../report/format.ts';
import { codeFence, cutAtLine, inlineCode, oneLine, tableCell } from '../report/markdown.ts';
import { OUTCOME_HEADINGS, phaseConclusion, RUN_CONCLUSIONS } from '../report/outcome.ts';
import { uploadSarif } from './code-scanning.ts';
import { annotationsOf, ANNOTATIONS_PER_REQUEST, findingsOf, type Annotation, type Finding } from './findings.ts';
import { Throttle } from './throttle.ts';

type Rest = Pick<Octokit, 'request'>;

export interface RunReportTarget {
  octokit: Rest;
  owner: string;
  repo: string;
  /** The commit the checks attach to: the run's base. */
  headSha: string;
  /** Where the progress comment goes; null: no comment (schedules, releases). */
  issueNumber: number | null;
  /** The comment to edit, when the run already has one (a resume). */
  progressCommentId: number | null;
  workflow: string;
  /** What started the run, shown in the comment: "`/workflow audit auth` by @octocat". */
  trigger: string;
  /** The workflow's declared phases, shown as the plan before they start. */
  plan?: string[];
  /** Upload findings to code scanning, for this ref (config `sarif: true`). */
  sarif?: { ref: string } | null;
  version: string;
  /** How the run can be steered where it runs; the App's buttons and commands when left out. */
  controls?: RunControls;
  /** Appended to the progress comment as it changes: a hidden marker its front door finds it by. */
  commentMarker?: (run: { runId: string | null; status: string }) => string;
}

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

const APP_CONTROLS: RunControls = {
  buttons: true,
  stop: { check: 'Stop it with the **Stop** button, or comment `/workflow stop`.', comment: (runId) => `Stop it with \`/workflow stop ${runId}\` or the **Stop** button on the check.` },
  resume: (runId) => `Resume it with \`/workflow resume ${runId}\` or the **Resume** button: finished agents are not paid for again.`,
};

export interface RunReportOptions {
  /** Least time between two updates of one check or of the comment (default 3 s). */
  intervalMs?: number;
  onError?: (error: unknown, what: string) => void;
}

export const SUMMARY_ACTIONS = {
  stop: { label: 'Stop', description: 'Stop this run; finished agents are kept', identifier: 'stop' },
  resume: { label: 'Resume', description: 'Resume without paying for finished agents again', identifier: 'resume' },
} as const;

const MAX_OUTPUT_CHARS = 65_000;
const MAX_AGENT_ROWS = 300;

interface AgentRow {
  label: string;
  status: string;
  tokens: number;
  costUsd: number;
  elapsedMs: number;
  error?: string;
}

interface PhaseCheck {
  title: string;
  id: Promise<number | null>;
  url: string | null;
  throttle: Throttle;
  agents: AgentRow[];
  completed: boolean;
}

export class GitHubRunReport {
  readonly #t: RunReportTarget;
  readonly #controls: RunControls;
  readonly #interval: number;
  readonly #onError: (error: unknown, what: string) => void;
  readonly #tracker = new ProgressTracker();
  readonly #phases = new Map<string, PhaseCheck>();
  readonly #proposals: Array<{ label: string; url: string | null; branch: string }> = [];
  #runId: string | null = null;
  #summaryId: Promise<number | null> = Promise.resolve(null);
  #summaryUrl: string | null = null;
  #summaryThrottle: Throttle;
  #comment: Throttle;
  #commentId: Promise<number | null>;
  #final: string | null = null;
  /** What the comment's marker says of the run. */
  #status = 'running';

  constructor(target: RunReportTarget, options: RunReportOptions = {}) {
    this.#t = target;
    this.#controls = target.controls ?? APP_CONTROLS;
    this.#interval = options.intervalMs ?? 3_000;
    this.#onError = options.onError ?? (() => {});
    this.#summaryThrottle = new Throttle(this.#interval, (e) => this.#onError(e, 'updating the summary check'));
    this.#comment = new Throttle(this.#interval, (e) => this.#onError(e, 'editing the progress comment'));
    this.#commentId = Promise.resolve(target.progressCommentId);
  }

  get commentId(): Promise<number | null> {
    return this.#commentId;
  }

  /** The run exists: open its summary check and (unless the run has one) its progress comment. */
  async started(runId: string): Promise<void> {
    this.#runId = runId;
    this.#summaryId = this.#createCheck(`Foreman: ${this.#t.workflow}`, {
      external_id: runId,
      output: { title: 'Running', summary: this.#summaryText() },
      actions: this.#controls.buttons ? [SUMMARY_ACTIONS.stop] : [],
    }).then((check) => {
      this.#summaryUrl = check?.url ?? null;
      return check?.id ?? null;
    });
    const { issueNumber } = this.#t;
    if (issueNumber !== null && this.#t.progressCommentId === null) {
      this.#commentId = this.#rest('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: issueNumber, body: this.#commentBody(this.#liveText()) }).then(
        (r) => r.data.id as number,
        (error) => {
          this.#onError(error, 'posting the progress comment');
          return null;
        },
      );
    }
    await Promise.all([this.#summaryId, this.#commentId]);
    this.#scheduleComment();
  }

  // Called for every event of a run (several per agent): it only records, and schedules the
  // throttled updates of what the event changed.
  readonly listener = (event: RunEvent): void => {
    this.#tracker.apply(event);
    let changed: PhaseCheck | null = null;
    switch (event.type) {
      case 'phase':
        changed = this.#phase(event.title);
        // A new phase may leave earlier ones with nothing running.
        this.#completeSettledPhases();
        break;
      case 'agent-queued':
      case 'agent-started':
        changed = this.#phase(event.phase);
        break;
      case 'agent-finished': {
        changed = this.#phase(event.phase);
        if (changed.agents.length < MAX_AGENT_ROWS) {
          changed.agents.push({ label: event.label, status: event.status, tokens: totalTokens(event.usage), costUsd: event.costUsd, elapsedMs: event.elapsedMs, ...(event.error ? { error: event.error } : {}) });
        }
        this.#completeSettledPhases();
        break;
      }
      case 'change-proposed':
        this.#proposals.push({ label: event.label, url: event.url, branch: event.branch });
        break;
      default:
        break;
    }
    if (changed && !changed.completed) this.#schedulePhase(changed);
    this.#summaryThrottle.schedule(() => this.#updateSummary());
    this.#scheduleComment();
  };

  /** The run is over: complete every check, attach the findings, write the final comment. */
  async finish(outcome: RunOutcome): Promise<void> {
    const summary = this.#tracker.summary();
    const findings = outcome.status === 'completed' ? findingsOf(outcome.result) : [];
    const annotations = annotationsOf(findings);
    const phases = [...this.#phases.values()];
    const last = phases.at(-1);
    for (const phase of phases) {
      if (phase.completed) continue;
      await this.#completePhase(phase, summary, outcome.status, phase === last ? annotations : []);
    }
    let sarifNote = '';
    if (this.#t.sarif && findings.length > 0) {
      const { octokit, owner, repo, headSha, workflow, version } = this.#t;
      sarifNote = await uploadSarif({ octokit, owner, repo, commitSha: headSha, ref: this.#t.sarif.ref, workflow, version }, findings, (e) => this.#onError(e, 'uploading SARIF'));
    }

    await this.#summaryThrottle.flush();
    const summaryId = await this.#summaryId;
    if (summaryId !== null) {
      const conclusion = RUN_CONCLUSIONS[outcome.status];
      // Findings are annotated on the last phase's check; a run without phases has them here.
      const own = last ? [] : annotations;
      const output = { title: this.#outcomeTitle(outcome, findings.length), summary: this.#summaryText(outcome, findings) };
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        check_run_id: summaryId,
        status: 'completed',
        conclusion,
        completed_at: new Date().toISOString(),
        output: { ...output, annotations: own.slice(0, ANNOTATIONS_PER_REQUEST) },
        // Only a run that did not complete can be resumed.
        actions: outcome.status === 'completed' || !this.#controls.buttons ? [] : [SUMMARY_ACTIONS.resume],
      })
        .then(() => this.#moreAnnotations(summaryId, own, output.title))
        .catch((e) => this.#onError(e, 'completing the summary check'));
    }
    this.#final = this.#finalText(outcome, findings, sarifNote);
    this.#status = outcome.status;
    this.#comment.schedule(() => this.#writeComment());
    await this.#comment.flush();
  }

  /**
   * The worker is shutting down mid-run (a deploy, a stop of the server): the run is not over, and
   * the next worker continues it from its journal in this same comment. Its checks stay in progress.
   */
  async paused(): Promise<void> {
    const s = this.#tracker.summary();
    this.#final = [
      this.#heading('⏸️ paused'),
      '',
      `Run \`${this.#runId}\`, started by ${this.#t.trigger} on ${this.#t.headSha.slice(0, 7)}.${this.#summaryUrl ? ` [Checks](${this.#summaryUrl})` : ''}`,
      '',
      phaseTable(s, (title) => this.#phases.get(title)?.url ?? null),
      ...this.#proposalLines(),
      '',
      'Foreman is restarting (a deploy, or its server was stopped). The run continues on its own when a worker is back, from its journal: finished agents are not paid for again.',
    ].join('\n');
    this.#status = 'paused';
    const summaryId = await this.#summaryId;
    if (summaryId !== null) {
      await this.#summaryThrottle.flush();
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { check_run_id: summaryId, output: { title: 'Paused: Foreman is restarting', summary: this.#summaryText() } }).catch((e) =>
        this.#onError(e, 'pausing the summary check'),
      );
    }
    this.#comment.schedule(() => this.#writeComment());
    await this.#comment.flush();
  }

  /** The run could not start (no such workflow, a clone that failed): say why where it was asked. */
  async failedToStart(reason: string): Promise<void> {
    this.#final = `${this.#heading('❌ not started')}\n\n${reason}`;
    this.#status = 'not started';
    this.#comment.schedule(() => this.#writeComment());
    await this.#comment.flush();
  }

  // ---- checks ------------------------------------------------------------------------------------

  #phase(title: string): PhaseCheck {
    let phase = this.#phases.get(title);
    if (!phase) {
      const created: PhaseCheck = { title, id: Promise.resolve(null), url: null, throttle: new Throttle(this.#interval, (e) => this.#onError(e, `updating check ${title}`)), agents: [], completed: false };
      created.id = this.#createCheck(`Foreman: ${this.#t.workflow} / ${title}`, {
        external_id: this.#runId ?? undefined,
        output: { title: 'Starting', summary: `Phase **${tableCell(title)}** of run \`${this.#runId}\`.` },
      }).then((check) => {
        created.url = check?.url ?? null;
        return check?.id ?? null;
      });
      this.#phases.set(title, created);
      phase = created;
    }
    return phase;
  }

  async #createCheck(name: string, fields: Record<string, unknown>): Promise<{ id: number; url: string } | null> {
    try {
      const { data } = await this.#rest('POST /repos/{owner}/{repo}/check-runs', { name, head_sha: this.#t.headSha, status: 'in_progress', started_at: new Date().toISOString(), ...fields });
      return { id: data.id as number, url: data.html_url as string };
    } catch (error) {
      this.#onError(error, `creating check ${name}`);
      return null;
    }
  }

  #schedulePhase(phase: PhaseCheck): void {
    phase.throttle.schedule(async () => {
      const id = await phase.id;
      if (id === null || phase.completed) return;
      const stats = this.#stats(phase.title);
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { check_run_id: id, output: this.#phaseOutput(phase, stats) });
    });
  }

  /** A phase whose agents are all done, once a later phase began, is finished: complete its check. */
  #completeSettledPhases(): void {
    const phases = [...this.#phases.values()];
    if (phases.slice(0, -1).every((phase) => phase.completed)) return;
    const summary = this.#tracker.summary();
    for (const phase of phases.slice(0, -1)) {
      if (phase.completed) continue;
      const stats = summary.phases.find((p) => p.title === phase.title);
      if (stats && stats.running === 0 && stats.queued === 0) void this.#completePhase(phase, summary, 'completed', []);
    }
  }

  async #completePhase(phase: PhaseCheck, summary: RunSummary, runStatus: RunOutcome['status'], annotations: Annotation[]): Promise<void> {
    if (phase.completed) return;
    phase.completed = true;
    await phase.throttle.flush();
    const id = await phase.id;
    if (id === null) return;
    const stats = summary.phases.find((p) => p.title === phase.title) ?? null;
    const conclusion = phaseConclusion(runStatus, stats);
    const output = this.#phaseOutput(phase, stats);
    try {
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        check_run_id: id,
        status: 'completed',
        conclusion,
        completed_at: new Date().toISOString(),
        output: { ...output, annotations: annotations.slice(0, ANNOTATIONS_PER_REQUEST) },
      });
      await this.#moreAnnotations(id, annotations, output.title);
    } catch (error) {
      this.#onError(error, `completing check ${phase.title}`);
    }
  }

  /** GitHub takes 50 annotations per request: the rest follow in further updates of the same check. */
  async #moreAnnotations(id: number, annotations: Annotation[], title: string): Promise<void> {
    for (let at = ANNOTATIONS_PER_REQUEST; at < annotations.length; at += ANNOTATIONS_PER_REQUEST) {
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        check_run_id: id,
        output: { title, summary: `${annotations.length} findings annotated.`, annotations: annotations.slice(at, at + ANNOTATIONS_PER_REQUEST) },
      });
    }
  }

  #stats(title: string): PhaseStats | null {
    return this.#tracker.summary().phases.find((p) => p.title === title) ?? null;
  }

  #phaseOutput(phase: PhaseCheck, stats: PhaseStats | null): { title: string; summary: string; text: string } {
    const s = stats ?? { agents: 0, done: 0, failed: 0, stopped: 0, running: 0, queued: 0, tokens: 0, costUsd: 0, elapsedMs: 0, replayed: 0, refused: 0 };
    // The same counts as the CLI's table and `foreman show`: done is answered (replayed included), a stop's aborts are stopped.
    const title = `${count(s.done, 'agent')} done${s.failed ? `, ${s.failed} failed` : ''}${s.stopped ? `, ${s.stopped} stopped` : ''}${s.refused ? `, ${s.refused} refused` : ''}${s.running ? `, ${s.running} running` : ''} · ${count(s.tokens, 'token', formatTokens(s.tokens))} · ${formatUsd(s.costUsd)} · ${formatMs(s.elapsedMs)}`;
    const summary = [
      `Phase **${tableCell(phase.title)}** of run \`${this.#runId}\` (${this.#t.workflow}).`,
      '',
      '| done | failed | stopped | replayed | running | queued | tokens | cost | time |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${s.done} | ${s.failed} | ${s.stopped} | ${s.replayed} | ${s.running} | ${s.queued} | ${formatTokens(s.tokens)} | ${formatUsd(s.costUsd)} | ${formatMs(s.elapsedMs)} |`,
    ].join('\n');
    const rows = phase.agents.map((a) => `| ${tableCell(a.label)} | ${a.status === 'done' ? '✅' : a.status === 'replayed' ? '↩️' : a.status === 'stopped' ? '⏹️' : '❌'} ${a.status}${a.error ? `: ${tableCell(a.error.slice(0, 200))}` : ''} | ${formatTokens(a.tokens)} | ${formatUsd(a.costUsd)} | ${formatMs(a.elapsedMs)} |`);
    const text = ['| agent | status | tokens | cost | time |', '| --- | --- | ---: | ---: | ---: |', ...rows, ...(s.agents > phase.agents.length ? [`\n…and ${s.agents - phase.agents.length} more agents.`] : [])].join('\n');
    return { title: title.slice(0, 255), summary: cutAtLine(summary, MAX_OUTPUT_CHARS), text: cutAtLine(text, MAX_OUTPUT_CHARS) };
  }

  async #updateSummary(): Promise<void> {
    const id = await this.#summaryId;
    if (id === null || this.#final !== null) return;
    const s = this.#tracker.summary();
    await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      check_run_id: id,
      output: { title: `${count(s.agents, 'agent')} · ${count(totalTokens(s.usage), 'token', formatTokens(totalTokens(s.usage)))} · ${formatUsd(s.costUsd)}`, summary: this.#summaryText() },
    });
  }

  #summaryText(outcome?: RunOutcome, findings: Finding[] = []): string {
    const s = this.#tracker.summary();
    const text = [
      `Run \`${this.#runId}\` of **${this.#t.workflow}**, started by ${this.#t.trigger}.`,
      '',
      phaseTable(s, (title) => this.#phases.get(title)?.url ?? null),
      ...(outcome ? ['', outcomeLine(outcome, findings.length, this.#proposals.length)] : this.#controls.stop ? ['', this.#controls.stop.check] : []),
    ].join('\n');
    return cutAtLine(text, MAX_OUTPUT_CHARS);
  }

  #outcomeTitle(outcome: RunOutcome, findings: number): string {
    const s = outcome.summary;
    return `${outcome.status} · ${count(s.agents, 'agent')} · ${count(findings, 'finding')} · ${count(this.#proposals.length, 'pull request')} · ${formatUsd(s.costUsd)}`;
  }

  // ---- the progress comment -----------------------------------------------------------------------

  #heading(state: string): string {
    return `### Foreman · \`${this.#t.workflow}\` · ${state}`;
  }

  #scheduleComment(): void {
    if (this.#t.issueNumber === null) return;
    this.#comment.schedule(() => this.#writeComment());
  }

  async #writeComment(): Promise<void> {
    const id = await this.#commentId;
    if (id === null) return;
    await this.#rest('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { comment_id: id, body: this.#commentBody(this.#final ?? this.#liveText()) });
  }

  /** The text within GitHub's limit, with the marker (never cut off) at its end. */
  #commentBody(text: string): string {
    const marker = this.#t.commentMarker ? `\n\n${this.#t.commentMarker({ runId: this.#runId, status: this.#status })}` : '';
    return cutAtLine(text, MAX_OUTPUT_CHARS - marker.length) + marker;
  }

  #liveText(): string {
    const s = this.#tracker.summary();
    const started = new Set(s.phases.map((p) => p.title));
    const waiting = (this.#t.plan ?? []).filter((title) => !started.has(title));
    return [
      this.#heading('⏳ running'),
      '',
      `Run \`${this.#runId}\`, started by ${this.#t.trigger} on ${this.#t.headSha.slice(0, 7)}.${this.#summaryUrl ? ` [Checks](${this.#summaryUrl})` : ''}`,
      '',
      phaseTable(s, (title) => this.#phases.get(title)?.url ?? null),
      ...(waiting.length ? ['', `Still to come: ${waiting.map((w) => `**${tableCell(w)}**`).join(', ')}.`] : []),
      ...this.#proposalLines(),
      ...(this.#controls.stop ? ['', this.#controls.stop.comment(this.#runId ?? '')] : []),
    ].join('\n');
  }

  #finalText(outcome: RunOutcome, findings: Finding[], sarifNote: string): string {
    const icon = OUTCOME_HEADINGS[outcome.status];
    const shown = findings.slice(0, 20);
    return [
      this.#heading(icon),
      '',
      `Run \`${outcome.runId}\`, started by ${this.#t.trigger} on ${this.#t.headSha.slice(0, 7)}.${this.#summaryUrl ? ` [Checks](${this.#summaryUrl})` : ''}`,
      '',
      phaseTable(outcome.summary, (title) => this.#phases.get(title)?.url ?? null),
      '',
      outcomeLine(outcome, findings.length, this.#proposals.length),
      ...(shown.length
        ? ['', '**Findings**', '', ...shown.map((f) => `- ${inlineCode(oneLine(`${f.file}${f.line ? `:${f.line}` : ''}`))}${f.severity ? ` (${f.severity})` : ''}: ${tableCell(f.title)}`), ...(findings.length > shown.length ? [`- …and ${findings.length - shown.length} more, annotated on the checks`] : [])]
        : []),
      ...this.#proposalLines(),
      ...(outcome.status === 'completed' ? resultBlock(outcome.result) : []),
      ...(sarifNote ? ['', sarifNote] : []),
      ...(outcome.status === 'completed' || !this.#controls.resume ? [] : ['', this.#controls.resume(outcome.runId)]),
    ].join('\n');
  }

  #proposalLines(): string[] {
    if (this.#proposals.length === 0) return [];
    return ['', '**Pull requests**', '', ...this.#proposals.map((p) => `- ${p.url ?? `branch \`${p.branch}\``}: ${tableCell(p.label)}`)];
  }

  #rest(route: string, parameters: Record<string, unknown>): Promise<{ data: any }> {
    return this.#t.octokit.request(route, { owner: this.#t.owner, repo: this.#t.repo, ...parameters }) as Promise<{ data: any }>;
  }
}

function phaseTable(summary: RunSummary, linkOf: (title: string) => string | null): string {
  if (summary.phases.length === 0) return '_No agents yet._';
  const rows = summary.phases.map((p) => {
    const link = linkOf(p.title);
    const name = link ? `[${tableCell(p.title)}](${link})` : tableCell(p.title);
    return `| ${name} | ${p.done} | ${p.failed} | ${p.stopped} | ${p.running} | ${p.queued} | ${formatTokens(p.tokens)} | ${formatUsd(p.costUsd)} | ${formatMs(p.elapsedMs)} |`;
  });
  const done = summary.phases.reduce((n, p) => n + p.done, 0);
  return ['| phase | done | failed | stopped | running | queued | tokens | cost | time |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows, `| **total** | ${done} | | | | | ${formatTokens(totalTokens(summary.usage))} | ${formatUsd(summary.costUsd)} | ${formatMs(summary.elapsedMs)} |`].join('\n');
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
  const parts = [`**${outcome.status}**`, ...refused, count(findings, 'finding'), count(prs, 'pull request'), `${formatUsd(outcome.summary.costUsd)}`];
  return `${parts.join(' · ')}${outcome.error ? `\n\n> ${tableCell(outcome.error.slice(0, 2_000))}` : ''}`;
}
