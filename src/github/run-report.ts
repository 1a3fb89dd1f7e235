// A run as GitHub shows it (DESIGN §5): one check run per phase with its figures and per-agent
// table, one summary check with Stop and Resume buttons, one progress comment edited in place,
// findings as annotations (and SARIF when asked). Fed the run's events; every GitHub call is
// throttled per check or comment, so a 1,000-agent fan-out makes a handful of requests. What the
// checks and the comment say is src/report/github-run.ts: this file holds the run's state and
// writes, nothing else.
import type { Octokit } from '@octokit/core';
import type { Endpoints } from '@octokit/types';
import type { RunOutcome } from '../runtime/engine.ts';
import type { RunEvent } from '../contracts/events.ts';
import { ProgressTracker, type PhaseStats, type RunSummary } from '../runtime/progress.ts';
import { totalTokens } from '../contracts/usage.ts';
import { annotationsOf, ANNOTATIONS_PER_REQUEST, findingsOf, type Annotation } from '../report/findings.ts';
import {
  APP_CONTROLS, commentBody, finalCommentText, liveCommentText, notStartedCommentText, outcomeTitle, pausedCommentText, phaseCheckOutput,
  phaseStartingSummary, runningSummaryTitle, summaryCheckText, type AgentRow, type ProposalRow, type RunControls, type RunView,
} from '../report/github-run.ts';
import { phaseConclusion, RUN_CONCLUSIONS } from '../report/outcome.ts';
import { uploadSarif } from './code-scanning.ts';
import { Throttle } from './throttle.ts';

export type { RunControls } from '../report/github-run.ts';

type Rest = Pick<Octokit, 'request'>;
/** The REST routes this report calls, typed by Octokit's own route table. */
type Route = 'POST /repos/{owner}/{repo}/check-runs' | 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}' | 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments' | 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}';
/** A route's parameters but the repository's, which every call shares. */
type RouteParameters<R extends Route> = Omit<Endpoints[R]['parameters'], 'owner' | 'repo'>;
type CheckRunFields = Omit<RouteParameters<'POST /repos/{owner}/{repo}/check-runs'>, 'name' | 'head_sha'>;

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

export interface RunReportOptions {
  /** Least time between two updates of one check or of the comment (default 3 s). */
  intervalMs?: number;
  onError?: (error: unknown, what: string) => void;
}

export const SUMMARY_ACTIONS = {
  stop: { label: 'Stop', description: 'Stop this run; finished agents are kept', identifier: 'stop' },
  resume: { label: 'Resume', description: 'Resume without paying for finished agents again', identifier: 'resume' },
} as const;

const MAX_AGENT_ROWS = 300;

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
  readonly #proposals: ProposalRow[] = [];
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
      output: { title: 'Running', summary: summaryCheckText(this.#view(), this.#tracker.summary()) },
      actions: this.#controls.buttons ? [SUMMARY_ACTIONS.stop] : [],
    }).then((check) => {
      this.#summaryUrl = check?.url ?? null;
      return check?.id ?? null;
    });
    const { issueNumber } = this.#t;
    if (issueNumber !== null && this.#t.progressCommentId === null) {
      this.#commentId = this.#rest('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: issueNumber, body: this.#commentBody(liveCommentText(this.#view(), this.#tracker.summary())) }).then(
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
      const output = { title: outcomeTitle(this.#view(), outcome, findings.length), summary: summaryCheckText(this.#view(), this.#tracker.summary(), outcome, findings.length) };
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
    this.#final = finalCommentText(this.#view(), outcome, findings, sarifNote);
    this.#status = outcome.status;
    this.#comment.schedule(() => this.#writeComment());
    await this.#comment.flush();
  }

  /**
   * The worker is shutting down mid-run (a deploy, a stop of the server): the run is not over, and
   * the next worker continues it from its journal in this same comment. Its checks stay in progress.
   */
  async paused(): Promise<void> {
    this.#final = pausedCommentText(this.#view(), this.#tracker.summary());
    this.#status = 'paused';
    const summaryId = await this.#summaryId;
    if (summaryId !== null) {
      await this.#summaryThrottle.flush();
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { check_run_id: summaryId, output: { title: 'Paused: Foreman is restarting', summary: summaryCheckText(this.#view(), this.#tracker.summary()) } }).catch((e) =>
        this.#onError(e, 'pausing the summary check'),
      );
    }
    this.#comment.schedule(() => this.#writeComment());
    await this.#comment.flush();
  }

  /** The run could not start (no such workflow, a clone that failed): say why where it was asked. */
  async failedToStart(reason: string): Promise<void> {
    this.#final = notStartedCommentText(this.#view(), reason);
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
        output: { title: 'Starting', summary: phaseStartingSummary(this.#view(), title) },
      }).then((check) => {
        created.url = check?.url ?? null;
        return check?.id ?? null;
      });
      this.#phases.set(title, created);
      phase = created;
    }
    return phase;
  }

  async #createCheck(name: string, fields: CheckRunFields): Promise<{ id: number; url: string | null } | null> {
    try {
      const { data } = await this.#rest('POST /repos/{owner}/{repo}/check-runs', { name, head_sha: this.#t.headSha, status: 'in_progress', started_at: new Date().toISOString(), ...fields });
      // GitHub's ids are int64 in its schema; JSON gives them as numbers.
      return { id: data.id as number, url: data.html_url ?? null };
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
      await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { check_run_id: id, output: phaseCheckOutput(this.#view(), phase.title, phase.agents, stats) });
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
    const output = phaseCheckOutput(this.#view(), phase.title, phase.agents, stats);
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

  async #updateSummary(): Promise<void> {
    const id = await this.#summaryId;
    if (id === null || this.#final !== null) return;
    const s = this.#tracker.summary();
    await this.#rest('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      check_run_id: id,
      output: { title: runningSummaryTitle(s), summary: summaryCheckText(this.#view(), s) },
    });
  }

  // ---- the progress comment -----------------------------------------------------------------------

  #scheduleComment(): void {
    if (this.#t.issueNumber === null) return;
    this.#comment.schedule(() => this.#writeComment());
  }

  async #writeComment(): Promise<void> {
    const id = await this.#commentId;
    if (id === null) return;
    await this.#rest('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { comment_id: id, body: this.#commentBody(this.#final ?? liveCommentText(this.#view(), this.#tracker.summary())) });
  }

  #commentBody(text: string): string {
    return commentBody(text, this.#t.commentMarker ? this.#t.commentMarker({ runId: this.#runId, status: this.#status }) : null);
  }

  /** What the texts say of the run besides its figures. */
  #view(): RunView {
    return {
      runId: this.#runId,
      workflow: this.#t.workflow,
      trigger: this.#t.trigger,
      headSha: this.#t.headSha,
      summaryUrl: this.#summaryUrl,
      plan: this.#t.plan ?? [],
      proposals: this.#proposals,
      controls: this.#controls,
      phaseUrl: (title) => this.#phases.get(title)?.url ?? null,
    };
  }

  #rest<R extends Route>(route: R, parameters: RouteParameters<R>): Promise<Endpoints[R]['response']> {
    const { owner, repo } = this.#t;
    // Octokit's overload resolves its parameter type per literal route, not for a route type
    // parameter: the signature above already holds each call to its route's types.
    const octokit = this.#t.octokit as { request(route: R, parameters: Endpoints[R]['parameters']): Promise<Endpoints[R]['response']> };
    return octokit.request(route, { owner, repo, ...parameters } as Endpoints[R]['parameters']);
  }
}

