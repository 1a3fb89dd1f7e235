// The GitHub Action: the same runs as the App, in the repository's own CI. The event says what to
// run (trigger.ts); a commenter or labeller is checked against the config's trigger role before
// anything of a pull request is fetched; every other `/workflow` comment is answered
// (commands.ts); a workflow written for free text is shown as a plan and runs on `/workflow
// approve`; the run goes through the same service as the CLI, and is reported as check runs, a
// job summary, step outputs and (when asked) SARIF.
import { FOREMAN_VERSION } from '../service/version.ts';
import { foremanHome } from '../service/home.ts';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as core from '@actions/core';
import * as github from '@actions/github';
import type { Octokit } from '@octokit/core';
import { CONFIG_PATH, modelTable, parseConfig } from '../config/load.ts';
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import { uploadSarif } from '../github/code-scanning.ts';
import { findingsOf, sarifOf } from '../report/findings.ts';
import { gitAuthConfig } from '../github/git-auth.ts';
import { removePersistedCredentials } from './persisted-credentials.ts';
import { GitHubProposer } from '../github/proposer.ts';
import { GitHubRunReport, type RunControls } from '../github/run-report.ts';
import { describeEvent } from '../report/event-lines.ts';
import { inertMarkdown } from '../report/inert-markdown.ts';
import { escapeHtml, htmlText } from '../report/markdown.ts';
import { planComment } from '../report/plan-comment.ts';
import type { RunOutcome } from '../runtime/engine.ts';
import type { CapKind, RunEvent } from '../contracts/events.ts';
import { totalTokens } from '../contracts/usage.ts';
import { type Proposer } from '../contracts/ports.ts';
import { resolveModel } from '../runtime/pricing.ts';
import { startRun } from '../service/runs.ts';
import { scriptForRequest, type RequestedScript } from '../service/scripts.ts';
import { validateScript } from '../workflows/validate.ts';
import { workflowDirs } from '../workflows/load.ts';
import { resolveCommit } from '../workspace/checkout.ts';
import { git, useHostEnvironment } from '../workspace/git.ts';
import { answerCommand, sha256, type ApprovedPlan } from './commands.ts';
import { readInputs, type ActionInputs } from './inputs.ts';
import { actionSandbox } from './sandbox-setup.ts';
import { sandboxMessage } from '../workspace/sandbox.ts';
import { markerLine } from './own-comments.ts';
import { triggerOf, type CommandTrigger, type RunTrigger } from './trigger.ts';
import { actorOn, authorize, type RequestedAction } from '../policy/authorize.ts';
import { planFirst } from '../policy/approval.ts';
import { postComment } from '../policy/comments.ts';
import { preparePullRequest, pullRequestArgs, PullRequestMovedError } from '../policy/pull-request.ts';
import { phaseTableHtml } from '../report/phase-table.ts';


/** A run that did not complete: the step fails with this one message. */
export class RunFailedError extends Error {}

/** GitHub's limit on a comment's body. */
const MAX_COMMENT_CHARS = 65_536;

/** The built-in workflows: beside the bundle in dist/, or at the repository root from source. */
function builtinDir(): string {
  const bundled = new URL('./workflows/', import.meta.url);
  return fileURLToPath(existsSync(bundled) ? bundled : new URL('../../workflows/', import.meta.url));
}

/** The Action: its one error path is here, core.setFailed with the message. */
export async function run(): Promise<void> {
  // The runner cancels a job (`/workflow stop`, the Cancel button) with SIGINT: the run stops and reports that it did.
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  useHostEnvironment(process.env);
  try {
    await actionMain(process.env, controller.signal);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}

/** What the role check weighs: a comment's command, or the label someone put on. */
function requestedAction(trigger: RunTrigger | CommandTrigger): RequestedAction {
  if (trigger.kind === 'command') return { kind: 'command', command: trigger.command.kind };
  if (trigger.label !== undefined) return { kind: 'event', event: 'label', name: trigger.label, workflow: trigger.workflow };
  return { kind: 'command', command: 'run' };
}

export async function actionMain(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<void> {
  const inputs = readInputs();
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const { owner, repo } = github.context.repo;
  const payload = github.context.payload;
  const octokit = github.getOctokit(inputs.githubToken, { baseUrl: env.GITHUB_API_URL || 'https://api.github.com' }) as unknown as Octokit;
  const config = await readConfig(workspace, inputs.config);

  const trigger = triggerOf(github.context.eventName, payload, inputs, config);
  if (trigger.kind === 'skip') {
    core.notice(`Foreman: nothing to run: ${trigger.reason}`);
    core.setOutput('status', 'skipped');
    return;
  }
  const persisted = await removePersistedCredentials(workspace);
  if (persisted.length > 0) {
    core.warning(
      `Foreman removed the job's token from the checkout's .git/config (${persisted.join(', ')}): code of the repository that Foreman builds and tests could read it there. ` +
        'Set persist-credentials: false on the actions/checkout step; a later step that pushes with git needs its own credentials.',
    );
  }
  // With secrets in reach, someone without the role is turned away before anything of theirs is fetched or run.
  if (trigger.checkRoleOf) {
    const allowed = authorize(await actorOn(octokit, { owner, repo }, trigger.checkRoleOf), config, requestedAction(trigger));
    if (!allowed.allowed) {
      await postComment(octokit, { owner, repo, issueNumber: trigger.issueNumber }, allowed.refusal);
      core.notice(`Foreman: not run: ${allowed.reason}`);
      core.setOutput('status', 'refused');
      return;
    }
  }
  // The reaction's author is the token's user: the identity whose comments are the Action's own plans and runs.
  let identity: string | null = null;
  if (trigger.commentId !== null) {
    const { data: reaction } = await octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { owner, repo, comment_id: trigger.commentId, content: 'eyes' });
    identity = (reaction as { user?: { login?: string } | null }).user?.login ?? null;
  }
  // The runner's temporary directory by default: the journal goes with the job.
  const home = foremanHome(env, join(env.RUNNER_TEMP || join(workspace, '..'), 'foreman'));
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com';
  const dirs = workflowDirs(workspace, join(home, 'no-user-workflows'), builtinDir());

  let approved: ApprovedPlan | null = null;
  let asked: RunTrigger;
  if (trigger.kind === 'command') {
    approved = await answerCommand(trigger.command, { octokit, owner, repo, issueNumber: trigger.issueNumber, identity, serverUrl, dirs });
    if (!approved) {
      core.setOutput('status', 'answered');
      return;
    }
    const { issueNumber, pullNumber, checkRoleOf, commentId } = trigger;
    const plan = approved.marker;
    asked = { kind: 'run', workflow: plan.workflow, args: plan.args, request: null, issueNumber, pullNumber, checkRoleOf, commentId, description: `${plan.trigger}, approved by @${checkRoleOf}` };
  } else {
    asked = trigger;
  }
  try {
    await runAsked(asked, approved, { inputs, octokit, owner, repo, workspace, home, serverUrl, dirs, config, payload, env, signal });
  } catch (error) {
    // Whoever asked in a comment hears why nothing ran; a run that started reported itself.
    if (asked.issueNumber !== null && asked.commentId !== null && !(error instanceof RunFailedError)) {
      await postComment(octokit, { owner, repo, issueNumber: asked.issueNumber }, `Foreman could not start ${asked.description}: ${inertMarkdown((error as Error).message, { midLine: true })}`);
    }
    throw error;
  }
}

interface RunPlace {
  inputs: ActionInputs;
  octokit: Octokit;
  owner: string;
  repo: string;
  workspace: string;
  home: string;
  serverUrl: string;
  dirs: ReturnType<typeof workflowDirs>;
  config: ForemanConfig;
  payload: any;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal | undefined;
}

/** Runs what was asked, or, when it needs approval first, shows its plan and ends there. */
async function runAsked(trigger: RunTrigger, approved: ApprovedPlan | null, at: RunPlace): Promise<void> {
  const where = await baseOrPlanAgain(trigger, approved, at);
  const script = await scriptToRun(trigger, approved, where, at);
  if (script === 'plan shown') return;
  // A written workflow goes by the name it gave itself, not the request's first word.
  const workflow = script?.origin === 'generated' ? validateScript(script.source, script.file).meta.name : trigger.workflow;
  const jobId = Number(at.env.GITHUB_RUN_ID) || null;
  const report = at.inputs.checkRuns ? progressReport(trigger, where, workflow, approved, jobId, at) : null;
  // An approval is used up once it runs: the progress comment's marker says so, and without check
  // runs (no progress comment) a comment of its own does, or the plan could be approved again.
  if (approved && !report && trigger.issueNumber !== null) {
    const jobUrl = jobId === null ? 'this workflow run' : `[workflow run ${jobId}](${at.serverUrl}/${at.owner}/${at.repo}/actions/runs/${jobId})`;
    const marker = markerLine({ kind: 'run', run: null, status: 'running', job: jobId, workflow, plan: approved.commentId });
    await postComment(at.octokit, { owner: at.owner, repo: at.repo, issueNumber: trigger.issueNumber }, `Running [the approved plan](${approved.url}) in ${jobUrl}.\n\n${marker}`);
  }
  const outcome = await execute(trigger, script, where, report, at);
  const { inputs, octokit, owner, repo, home } = at;
  await report?.finish(outcome);
  if (inputs.sarif && !report) {
    const findings = outcome.status === 'completed' ? findingsOf(outcome.result) : [];
    if (findings.length > 0) core.info(await uploadSarif({ octokit, owner, repo, commitSha: where.sha, ref: where.ref, workflow, version: FOREMAN_VERSION }, findings, (e) => core.warning(`SARIF upload failed: ${(e as Error).message}`)));
  }
  await publish(outcome, { ...trigger, workflow }, home, inputs);
  if (outcome.status !== 'completed') throw new RunFailedError(`run ${outcome.runId} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
}

/** The run itself, in the sandbox, reported to the log, the check runs and the progress comment. */
async function execute(trigger: RunTrigger, script: RequestedScript | undefined, where: Base, report: GitHubRunReport | null, at: RunPlace): Promise<RunOutcome> {
  const { inputs, octokit, owner, repo, home, env } = at;
  const remoteUrl = `${at.serverUrl}/${owner}/${repo}.git`;
  // Repository code runs only inside the sandbox: unavailable, every gate step and command is refused.
  const { sandbox, notes } = await actionSandbox(env, [home, ...(env.HOME ? [env.HOME] : [])]);
  for (const note of notes) core.info(`sandbox: ${note}`);
  if (sandbox.kind === 'unavailable') core.error(`Foreman: ${sandboxMessage(sandbox)}. Gate steps and agents' commands are refused until it works.`);
  return startRun(
    {
      ref: trigger.workflow,
      ...(script ? { script } : {}),
      args: trigger.args ?? where.pullRequestArgs ?? null,
      repoDir: at.workspace,
      base: where.sha,
      model: inputs.model,
      concurrency: inputs.concurrency,
      budgetTokens: inputs.budgetTokens,
      maxCostUsd: inputs.maxCostUsd,
    },
    {
      home,
      userHome: join(home, 'no-user-workflows'),
      builtinDir: builtinDir(),
      apiKey: inputs.anthropicApiKey,
      baseURL: env.ANTHROPIC_BASE_URL,
      config: at.config,
      commandEnv: env,
      sandbox,
      commandSecrets: [inputs.githubToken],
      howToResume: actionResumeAdvice,
      // Other people's comments and code: an agent that can fetch could carry the repository out.
      webByDefault: CONFIG_DEFAULTS.agents.web.byDoor.action,
      signal: at.signal,
      ...(where.untrusted ? { untrusted: where.untrusted } : {}),
      proposer: (repoDir) => proposerFor(inputs, { octokit, owner, repo, repoDir, remoteUrl, baseBranch: where.targetBranch }),
      onRunId: (runId) => {
        core.info(`run ${runId}`);
        void report?.started(runId);
      },
      listener: (event: RunEvent) => {
        const line = describeEvent(event);
        if (line) core.info(line);
        report?.listener(event);
      },
    },
  );
}

/** Check runs and a progress comment, with the Action's own stop controls and marker. */
function progressReport(trigger: RunTrigger, where: Base, workflow: string, approved: ApprovedPlan | null, jobId: number | null, at: RunPlace): GitHubRunReport {
  const { owner, repo, serverUrl } = at;
  return new GitHubRunReport(
    {
      octokit: at.octokit,
      owner,
      repo,
      headSha: where.sha,
      issueNumber: trigger.issueNumber,
      progressCommentId: null,
      workflow,
      trigger: trigger.description,
      sarif: at.inputs.sarif ? { ref: where.ref } : null,
      version: FOREMAN_VERSION,
      controls: actionControls(trigger, jobId === null ? null : `${serverUrl}/${owner}/${repo}/actions/runs/${jobId}`),
      commentMarker: ({ runId, status }) => markerLine({ kind: 'run', run: runId, status, job: jobId, workflow, plan: approved?.commentId ?? null }),
    },
    { onError: (error, what) => core.warning(`GitHub report: ${what} failed: ${(error as Error).message}`) },
  );
}

/**
 * Posts the plan with its script and ends the job: `/workflow approve` runs it in a later one. The
 * marker records the script's hash, the commit, and what to run, for that job to check.
 */
async function showPlan(trigger: RunTrigger, script: RequestedScript, commit: string, at: RunPlace, fork = false): Promise<void> {
  const validated = validateScript(script.source, script.file);
  const generated = script.origin === 'generated';
  const marker = markerLine({
    kind: 'plan',
    sha256: sha256(`${script.source.trimEnd()}\n`),
    commit,
    workflow: generated ? validated.meta.name : trigger.workflow,
    origin: script.origin,
    args: trigger.args,
    trigger: trigger.description,
  });
  const pinned = fork
    ? `${generated ? 'Foreman wrote a workflow for this request. ' : ''}This pull request comes from a fork: approving runs its code as of commit \`${commit}\`, its head now, and nothing pushed after it. Nothing has run yet.`
    : undefined;
  const body = `${planComment(trigger.description, validated, generated, false, pinned)}\n\n${marker}`;
  if (body.length > MAX_COMMENT_CHARS) {
    throw new Error(`the workflow is too long to show as a plan in a comment (${body.length} characters, GitHub takes ${MAX_COMMENT_CHARS}): ask for less, or save it in .claude/workflows/ and run it by name`);
  }
  await postComment(at.octokit, { owner: at.owner, repo: at.repo, issueNumber: trigger.issueNumber }, body);
  core.notice(`Foreman: the plan for ${trigger.workflow} waits for /workflow approve`);
  core.setOutput('status', 'awaiting-approval');
}

/** Only what works from an Action: `/workflow stop` on the issue, or cancelling the workflow run. No buttons, no resume. */
function actionControls(trigger: RunTrigger, jobUrl: string | null): RunControls {
  const cancel = jobUrl ? `cancelling [the workflow run](${jobUrl})` : 'cancelling the workflow run';
  return {
    buttons: false,
    stop:
      trigger.issueNumber !== null
        ? { check: `Stop it by commenting \`/workflow stop\` on #${trigger.issueNumber}, or by ${cancel}.`, comment: () => `Stop it with \`/workflow stop\`, or by ${cancel}.` }
        : { check: `Stop it by ${cancel}.`, comment: () => `Stop it by ${cancel}.` },
    resume: null,
  };
}

async function readConfig(workspace: string, path: string): Promise<ForemanConfig> {
  const file = join(workspace, path);
  if (!existsSync(file)) {
    if (path !== CONFIG_PATH) throw new Error(`config ${path} does not exist in the checkout: fix the config input, or check out the repository first (actions/checkout)`);
    return {};
  }
  return parseConfig(await readFile(file, 'utf8'), path);
}

/** The commit to run on; an approved plan whose pull request moved since is shown again for the new head. */
async function baseOrPlanAgain(trigger: RunTrigger, approved: ApprovedPlan | null, at: RunPlace): Promise<Base> {
  const remoteUrl = `${at.serverUrl}/${at.owner}/${at.repo}.git`;
  try {
    return await baseOf(trigger, at.inputs, at.octokit, { ...at, remoteUrl, approvedCommit: approved?.marker.commit ?? null });
  } catch (error) {
    // The approval was for the commit its plan named: the plan is shown again for the new head, so
    // that approving it again is approving what is there now.
    if (approved && error instanceof PlanOutdatedError) await showPlan({ ...trigger, description: approved.marker.trigger }, approvedScript(approved, at.home), error.head, at, error.fork);
    throw error;
  }
}

const approvedScript = (approved: ApprovedPlan, home: string): RequestedScript => ({ source: approved.source, file: join(home, 'approved', `plan-${approved.commentId}.js`), origin: approved.marker.origin });

/**
 * The script an approved plan holds; or, when a person asked on an issue or pull request, the one
 * the request names or the model writes, whose plan is shown first when it needs approval. Else
 * (labels on nobody's behalf, schedules, releases) the run resolves the workflow itself.
 */
async function scriptToRun(trigger: RunTrigger, approved: ApprovedPlan | null, where: Base, at: RunPlace): Promise<RequestedScript | undefined | 'plan shown'> {
  if (approved) return approvedScript(approved, at.home);
  if (trigger.checkRoleOf === null || trigger.issueNumber === null) return undefined;
  const script = await scriptForRequest(trigger.workflow, trigger.request, at.dirs, {
    model: resolveModel(modelTable(at.config), at.inputs.model),
    file: join(at.home, 'generated', `${at.owner}-${at.repo}-${Date.now()}.js`),
    apiKey: at.inputs.anthropicApiKey,
    baseURL: at.env.ANTHROPIC_BASE_URL,
    signal: at.signal,
  });
  // A fork's code may change between the comment and this job: it runs only as of a commit a
  // plan named and someone approved, whatever `approval` says.
  const forkByComment = where.fork && trigger.commentId !== null;
  if (!forkByComment && !planFirst(at.config, script)) return script;
  await showPlan(trigger, script, where.sha, at, forkByComment);
  return 'plan shown';
}

interface Base {
  sha: string;
  /** The pull request's head comes from another repository. */
  fork: boolean;
  /** The ref SARIF is uploaded for. */
  ref: string;
  /** Where fixes go. */
  targetBranch: string;
  untrusted?: string;
  /** On a pull request, the args of a workflow asked for without any: the change under review. */
  pullRequestArgs?: unknown;
}

/** The commit the run reads: a pull request's head (fetched only now, after the role check), or the event's commit. */
async function baseOf(
  trigger: RunTrigger,
  inputs: ActionInputs,
  octokit: Octokit,
  at: { owner: string; repo: string; workspace: string; remoteUrl: string; payload: any; env: NodeJS.ProcessEnv; approvedCommit: string | null },
): Promise<Base> {
  const defaultBranch: string = at.payload.repository?.default_branch ?? 'main';
  if (trigger.pullNumber !== null) {
    const pull = await preparePullRequest(octokit, { owner: at.owner, repo: at.repo, number: trigger.pullNumber, approvedSha: at.approvedCommit }).catch((error: unknown) => {
      throw error instanceof PullRequestMovedError ? new PlanOutdatedError(error) : error;
    });
    const ref = `refs/pull/${trigger.pullNumber}/head`;
    // The commit by its id, not the ref: a push between reading the head and fetching it changes nothing that runs.
    await git(at.workspace, ['fetch', '--quiet', '--no-tags', at.remoteUrl, `+${pull.headSha}:refs/foreman/pull/${trigger.pullNumber}`], { config: gitAuthConfig(at.remoteUrl, inputs.githubToken) });
    // On a fork's pull request a comment runs only an approved plan, pinned to the commit it named
    // (runAsked): that approval vouches for the code; a label (no secrets in its job anyway) runs read-only.
    const untrusted =
      pull.fork && trigger.commentId === null
        ? "this pull request's code comes from a fork: the Action builds and proposes it only for a plan someone with write access approved in a comment"
        : undefined;
    // What review-pr reads, as the App gives it: GitHub's own diff of the pull request, since the
    // runner's shallow checkout has no merge base to diff against.
    const { data: diff } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: at.owner, repo: at.repo, pull_number: trigger.pullNumber, mediaType: { format: 'diff' } });
    return { sha: pull.headSha, fork: pull.fork, ref, targetBranch: pull.targetBranch, pullRequestArgs: pullRequestArgs(pull, String(diff), pull.baseSha), ...(untrusted ? { untrusted } : {}) };
  }
  if (inputs.base) {
    // A branch as base (a sweep of release branches) is also where its fixes go.
    const sha = await resolveCommit(at.workspace, inputs.base, 'base').catch(() => {
      throw new Error(`base ${inputs.base} is not a commit in the checkout: check it out first (actions/checkout with ref: ${inputs.base}, or fetch-depth: 0)`);
    });
    const full = (await git(at.workspace, ['rev-parse', '--symbolic-full-name', '--end-of-options', inputs.base]).catch(() => '')).trim();
    const branch = /^refs\/(?:heads|remotes\/origin)\/(.+)$/.exec(full)?.[1];
    return { sha, fork: false, ref: branch ? `refs/heads/${branch}` : (at.env.GITHUB_REF ?? `refs/heads/${defaultBranch}`), targetBranch: branch ?? defaultBranch };
  }
  const refName = at.env.GITHUB_REF ?? `refs/heads/${defaultBranch}`;
  return { sha: at.env.GITHUB_SHA ?? 'HEAD', fork: false, ref: refName, targetBranch: refName.startsWith('refs/heads/') ? refName.slice('refs/heads/'.length) : defaultBranch };
}

/** The pull request's head is not the commit its plan was approved for: the plan is shown again for the new head. */
class PlanOutdatedError extends Error {
  readonly head: string;
  readonly fork: boolean;
  constructor(moved: PullRequestMovedError) {
    const [planned, head] = [moved.approved.slice(0, 7), moved.head.slice(0, 7)];
    super(
      `the pull request changed after the plan (planned on ${planned}, now ${head}): nothing pushed since runs on that approval; ` +
        `the plan is shown again for ${head}: review the new commits, then \`/workflow approve\` again`,
    );
    this.head = moved.head;
    this.fork = moved.fork;
  }
}

function proposerFor(inputs: ActionInputs, at: { octokit: Octokit; owner: string; repo: string; repoDir: string; remoteUrl: string; baseBranch: string }): Proposer {
  if (inputs.propose === 'none') {
    return {
      propose: async () => {
        throw new Error('proposals are off (propose: none): the change is reported, not pushed');
      },
    };
  }
  return new GitHubProposer({ ...at, token: inputs.githubToken, pullRequests: inputs.propose === 'pr' });
}

/** Step outputs, the job summary, the report file and the SARIF file. */
async function publish(outcome: RunOutcome, trigger: RunTrigger, home: string, inputs: ActionInputs): Promise<void> {
  const findings = outcome.status === 'completed' ? findingsOf(outcome.result) : [];
  const pulls = (outcome.summary.changes ?? []).filter((c) => c.pr).map((c) => c.pr as string);
  const dir = join(home, 'reports');
  await mkdir(dir, { recursive: true });
  const reportPath = join(dir, `${outcome.runId}.json`);
  await writeFile(reportPath, JSON.stringify({ runId: outcome.runId, status: outcome.status, error: outcome.error, result: outcome.result, summary: outcome.summary, findings, pullRequests: pulls }, null, 2));
  if (inputs.sarif) await writeFile(join(dir, `${outcome.runId}.sarif`), JSON.stringify(sarifOf(findings, { name: 'Foreman', version: FOREMAN_VERSION, workflow: trigger.workflow }), null, 2));

  const s = outcome.summary;
  core.setOutput('run-id', outcome.runId);
  core.setOutput('status', outcome.status);
  core.setOutput('result', JSON.stringify(outcome.result ?? null));
  core.setOutput('findings', JSON.stringify(findings));
  core.setOutput('pull-requests', JSON.stringify(pulls));
  core.setOutput('tokens', String(totalTokens(s.usage)));
  core.setOutput('cost-usd', s.costUsd.toFixed(6));
  core.setOutput('report-path', reportPath);

  core.summary.addHeading(`Foreman · ${htmlText(trigger.workflow)} · ${outcome.status}`, 2);
  core.summary.addRaw(`Run <code>${outcome.runId}</code>, started by ${htmlText(trigger.description)}.`, true);
  core.summary.addTable(phaseTableHtml(s));
  if (findings.length > 0) {
    core.summary.addHeading(`Findings (${findings.length})`, 3);
    core.summary.addList(findings.slice(0, 50).map((f) => `<code>${htmlText(f.file)}${f.line ? `:${f.line}` : ''}</code>${f.severity ? ` (${f.severity})` : ''}: ${htmlText(f.title)}`));
  }
  if (pulls.length > 0) {
    core.summary.addHeading('Pull requests', 3);
    core.summary.addList(pulls.map((url) => `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`));
  }
  if (outcome.error) core.summary.addRaw(`<p><strong>${htmlText(outcome.error)}</strong></p>`, true);
  await core.summary.write();
  for (const f of findings.slice(0, 50)) {
    core.warning(f.detail || f.title, { title: f.title, file: f.file, ...(f.line ? { startLine: f.line } : {}) });
  }
}

/** The Action's journal goes with the runner, so a run a cap or a stop ended starts again, with the cap raised. */
const ACTION_CAP_INPUTS: Record<CapKind, string> = { tokens: 'the `budget-tokens` input', usd: 'the `max-cost-usd` input', agents: '`limits.agentsPerRun` in the config', spend: '`limits.spend` in the config' };

function actionResumeAdvice(_runId: string, cap: CapKind | null): string {
  return cap ? `raise ${ACTION_CAP_INPUTS[cap]} and run the workflow again` : 'run the workflow again to start it anew';
}
