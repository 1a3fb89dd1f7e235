// The intake of a `/workflow` comment, after the webhook was acknowledged: read the repository's
// config, check that the commenter may ask, acknowledge with a reaction, and answer or enqueue
// the run. Everything a stranger can cause is one polite reply at most: the job is keyed by the
// delivery, so a redelivered webhook is never answered twice.
import type { Octokit } from '@octokit/core';
import { ConfigError, CONFIG_PATH, validateConfig } from '../config/load.ts';
import type { ForemanConfig } from '../config/schema.ts';
import type { RunCaps } from '../runtime/store.ts';
import { listWorkflows } from '../workflows/load.ts';
import type { CommentJob, DeliveredRepository } from './deliveries.ts';
import type { WorkflowCommand } from '../github/commands.ts';
import { actorOn, authorize } from '../policy/authorize.ts';
import { postComment } from '../policy/comments.ts';
import { commentTrigger, configuredStart, labelTrigger, releaseTrigger } from '../policy/trigger.ts';
import { inlineCode, tableCell } from '../report/markdown.ts';
import { busyMessage, type GitHubRunContext, type GitHubRunEntry, type RunRegistry } from './run-registry.ts';
import { ASKED_PRIORITY, SWEEP_PRIORITY, type AppQueue, type CheckActionJob, type EventJob, type ResumeJob, type SaveJob, type StartJob } from './jobs.ts';
import { spendStatus, type SpendReader } from './spend-status.ts';

/** What intake needs of an installation's Octokit: requests, and Probot's config plugin. */
export type InstallationOctokit = Pick<Octokit, 'request'> & {
  config: { get(options: { owner: string; repo: string; path: string }): Promise<{ config: Record<string, unknown> }> };
};

export type IntakeOutcome =
  | { outcome: 'refused'; reason: string }
  | { outcome: 'config-error'; message: string }
  | { outcome: 'answered'; command: string }
  | { outcome: 'enqueued'; jobId: string; created: boolean };


export interface IntakeOptions {
  /** Foreman's built-in workflows/ directory, for `/workflow list`. */
  builtinDir: string;
  registry: RunRegistry;
  /** The spend ledger, for `/workflow status`; without it, status shows runs only. */
  spend?: SpendReader;
  /** Now, for the spend's UTC day and month. Default: the system clock. */
  clock?: () => Date;
}

export async function takeComment(job: CommentJob, octokit: InstallationOctokit, queue: AppQueue, options: IntakeOptions): Promise<IntakeOutcome> {
  let config: ForemanConfig | null = null;
  let configProblem: string | null = null;
  try {
    config = await readRepositoryConfig(octokit, job.owner, job.repo);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configProblem = error.message;
  }

  const allowed = authorize(await actorOn(octokit, job, job.author), config, { kind: 'command', command: job.command.kind });
  if (!allowed.allowed) {
    await postComment(octokit, job, allowed.refusal);
    return { outcome: 'refused', reason: allowed.reason };
  }

  await octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { owner: job.owner, repo: job.repo, comment_id: job.commentId, content: 'eyes' });
  if (configProblem !== null) {
    await postComment(octokit, job, `Foreman cannot use this repository's config, so nothing was started.\n\n> ${configProblem}\n\nFix the file on the default branch, then comment again.`);
    return { outcome: 'config-error', message: configProblem };
  }
  return answerComment({ job, octokit, queue, options, config: config ?? {} });
}

/** A comment from someone allowed to ask, under a config that could be read. */
interface AllowedComment {
  job: CommentJob;
  octokit: InstallationOctokit;
  queue: AppQueue;
  options: IntakeOptions;
  config: ForemanConfig;
}

async function answerComment(at: AllowedComment): Promise<IntakeOutcome> {
  const { job, octokit, options } = at;
  const { command } = job;
  const answered = async (body: string, kind: string = command.kind): Promise<IntakeOutcome> => {
    await postComment(octokit, job, body);
    return { outcome: 'answered', command: kind };
  };
  switch (command.kind) {
    case 'help':
      return answered(HELP);
    case 'list':
      return answered(await listing(octokit, job, options.builtinDir));
    case 'invalid':
      return answered(`That \`/workflow\` command was not understood: ${command.problem}.\n\n${HELP}`);
    case 'run':
      return takeRun(at, command);
    case 'stop': {
      const entry = await namedOrLatest(options.registry, job, command.runId);
      if (!entry?.runId || entry.state !== 'active') return answered(`There is no active Foreman run${command.runId ? ` \`${command.runId}\`` : ''} here to stop. ${HELP_LINE}`);
      await options.registry.requestStop(entry.runId);
      return { outcome: 'answered', command: 'stop' };
    }
    case 'resume':
      return takeResume(at, command.runId, command.args);
    case 'approve':
      return takeApprove(at, command.runId);
    case 'status': {
      const entry = await options.registry.latest(`${job.owner}/${job.repo}`, job.issueNumber);
      const runs = entry?.runId ? statusReply(entry) : `No Foreman run has reported here yet. ${HELP_LINE}`;
      const spend = options.spend ? await spendStatus(options.spend, at.config, job, options.clock?.() ?? new Date()) : null;
      return answered(spend ? `${runs}\n\n${spend}` : runs);
    }
    case 'save': {
      const entry = await namedOrLatest(options.registry, job, command.runId);
      if (!entry || (!entry.runId && !entry.context.script)) return answered(`There is no Foreman run${command.runId ? ` \`${command.runId}\`` : ''} here whose script could be saved. ${HELP_LINE}`);
      const save: SaveJob = { entryId: entry.id, name: command.name, author: job.author };
      return enqueued(await at.queue.enqueue('save', `comment:${job.owner}/${job.repo}#${job.commentId}`, save, ASKED));
    }
  }
}

/** Runs someone asked for here go before scheduled ones and release sweeps. */
const ASKED = { priority: ASKED_PRIORITY };

const enqueued = ({ id, created }: { id: string; created: boolean }): IntakeOutcome => ({ outcome: 'enqueued', jobId: id, created });

async function takeRun(at: AllowedComment, command: Extract<WorkflowCommand, { kind: 'run' }>): Promise<IntakeOutcome> {
  const { job } = at;
  const active = await activeRun(at.options.registry, job);
  if (active) {
    await postComment(at.octokit, job, busyMessage(active));
    return { outcome: 'answered', command: 'busy' };
  }
  const start: StartJob = {
    context: startContext(job, { trigger: commentTrigger(command.text, job.author), author: job.author, workflow: command.ref, args: command.args, config: at.config }),
  };
  start.context.request = command.text;
  // Keyed by the comment: however often it is delivered, it starts one run.
  return enqueued(await at.queue.enqueue('start', `comment:${job.owner}/${job.repo}#${job.commentId}`, start, ASKED));
}

async function takeResume(at: AllowedComment, runId: string | null, args: { value: unknown } | undefined): Promise<IntakeOutcome> {
  const { job } = at;
  const entry = await namedOrLatest(at.options.registry, job, runId);
  if (!entry?.runId || entry.state === 'active' || entry.status === 'completed') {
    const why = !entry?.runId ? 'there is no Foreman run here' : entry.state === 'active' ? `run \`${entry.runId}\` is still active` : `run \`${entry.runId}\` completed`;
    await postComment(at.octokit, job, `Nothing to resume: ${why}. ${HELP_LINE}`);
    return { outcome: 'answered', command: 'resume' };
  }
  const resume: ResumeJob = { runId: entry.runId, by: job.author, caps: configCaps(at.config), ...(args ? { args } : {}) };
  return enqueued(await at.queue.enqueue('resume', `resume:${entry.runId}:${job.deliveryId}`, resume, ASKED));
}

async function takeApprove(at: AllowedComment, runId: string | null): Promise<IntakeOutcome> {
  const { job, octokit } = at;
  const entry = await namedOrLatest(at.options.registry, job, runId);
  const waiting = entry?.context.awaitingApproval === true;
  const untrustedFork = entry?.runId && entry.context.fork && !entry.context.approvedBy;
  if (!entry || (!waiting && !untrustedFork)) {
    await postComment(
      octokit,
      job,
      `Nothing here waits for approval: \`/workflow approve\` runs a plan Foreman showed here, or lets a run on a fork's pull request build, test and propose its code. ${HELP_LINE}`,
    );
    return { outcome: 'answered', command: 'approve' };
  }
  if (entry.state === 'active') {
    await postComment(octokit, job, busyMessage(entry));
    return { outcome: 'answered', command: 'approve' };
  }
  // A new run of the same request (and the same script, for a generated one) with the approval on it.
  const { awaitingApproval: _waiting, ...context } = freshContext(entry.context);
  const start: StartJob = {
    context: { ...context, approvedBy: job.author, ...(entry.context.headSha ? { approvedSha: entry.context.headSha } : {}), trigger: `${entry.context.trigger}, approved by @${job.author}` },
  };
  return enqueued(await at.queue.enqueue('start', `approve:${entry.id}:${job.commentId}`, start, ASKED));
}

async function activeRun(registry: RunRegistry, job: Pick<CommentJob, 'owner' | 'repo' | 'issueNumber'>): Promise<GitHubRunEntry | null> {
  const entry = await registry.latest(`${job.owner}/${job.repo}`, job.issueNumber);
  return entry?.state === 'active' ? entry : null;
}

/** The run a command names, when it ran here; else the newest run on this issue or pull request. */
async function namedOrLatest(registry: RunRegistry, job: CommentJob, runId: string | null): Promise<GitHubRunEntry | null> {
  if (runId === null) return registry.latest(`${job.owner}/${job.repo}`, job.issueNumber);
  const entry = await registry.get(runId);
  // A run id from another repository is not this comment's to steer.
  return entry && entry.repo === `${job.owner}/${job.repo}` ? entry : null;
}

/** A run's context: where it was asked for, and what it runs. */
function startContext(
  where: DeliveredRepository & { issueNumber: number | null; isPullRequest: boolean },
  what: Pick<GitHubRunContext, 'trigger' | 'author' | 'workflow' | 'args' | 'config'>,
): GitHubRunContext {
  const { installationId, owner, repo, cloneUrl, defaultBranch, issueNumber, isPullRequest } = where;
  return { installationId, owner, repo, cloneUrl, defaultBranch, issueNumber, isPullRequest, ...what };
}

/** What a new run of the same request starts from: the worker resolves the base again. */
function freshContext(context: GitHubRunContext): GitHubRunContext {
  const { headSha: _head, defaultSha: _default, targetBranch: _target, fork: _fork, progressCommentId: _comment, ...rest } = context;
  return rest;
}

function statusReply(entry: GitHubRunEntry): string {
  const state = entry.state === 'active' ? (entry.stopRequested ? 'stopping' : 'running') : (entry.status ?? 'finished');
  return `Run \`${entry.runId}\` (\`${entry.context.workflow}\`, ${entry.context.trigger}) is **${state}**.${entry.state === 'active' ? ' `/workflow stop` stops it.' : entry.status !== 'completed' ? ' `/workflow resume` resumes it.' : ''}`;
}

/**
 * `.github/foreman.yml` of the default branch (with the org's `.github` defaults), checked. Every
 * way the file can be wrong, YAML that does not parse included, is a ConfigError naming the fix.
 */
export async function readRepositoryConfig(octokit: InstallationOctokit, owner: string, repo: string): Promise<ForemanConfig> {
  let raw: Record<string, unknown>;
  try {
    ({ config: raw } = await octokit.config.get({ owner, repo, path: CONFIG_PATH }));
  } catch (error) {
    // Probot's config plugin says "could not be parsed" for YAML or JSON it cannot read, and a directory in the file's place.
    const message = error instanceof Error ? error.message : '';
    if (!message.startsWith('[@probot/octokit-plugin-config]')) throw error;
    // YAML's own message ends with a colon before its excerpt: drop it, or the reader sees "::".
    const cause = (error as { cause?: { message?: string } }).cause?.message?.split('\n')[0]?.replace(/:\s*$/, '');
    throw new ConfigError(`${CONFIG_PATH} could not be read: ${cause ?? message.replace(/^\[[^\]]+\]\s*/, '')}: fix the YAML syntax on the default branch (see Foreman's docs/config.md)`);
  }
  return validateConfig(raw, CONFIG_PATH);
}

/** `/workflow list`: the repository's saved workflows (from GitHub), then the built-in ones. */
async function listing(octokit: InstallationOctokit, job: CommentJob, builtinDir: string): Promise<string> {
  let saved: string[] = [];
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { owner: job.owner, repo: job.repo, path: '.claude/workflows' });
    if (Array.isArray(data)) saved = data.filter((entry) => entry.type === 'file' && entry.name.endsWith('.js')).map((entry) => entry.name.slice(0, -3)).sort();
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
  }
  const none = { repoDir: '/nonexistent', userDir: '/nonexistent' };
  const builtin = (await listWorkflows({ ...none, builtinDir })).filter((w) => w.origin === 'builtin' && !w.error);
  return [
    '**Workflows** for `/workflow <name> [args]`:',
    '',
    '| name | from | what it does |',
    '| --- | --- | --- |',
    ...saved.map((name) => `| \`${name}\` | \`.claude/workflows/${name}.js\` | |`),
    ...builtin.filter((w) => !saved.includes(w.name)).map((w) => `| \`${w.name}\` | built in | ${tableCell(w.description ?? '')} |`),
    '',
    'Or describe what to do in words: `/workflow <request>` has a workflow written for it, shown as a plan first.',
  ].join('\n');
}

const HELP_LINE = 'Comment `/workflow help` for the commands.';

export const HELP = [
  '**Foreman** runs workflows on this repository. On the first line of a comment:',
  '',
  '- `/workflow <name> [args]`: run a saved (`.claude/workflows/<name>.js`) or built-in workflow; args are JSON or text',
  '- `/workflow <what to do, in words>`: have a workflow written for the request, shown as a plan first',
  '- `/workflow approve | stop [run]`, `/workflow resume [run [args]]` (the saved workflow as it is now on the default branch; calls that still match replay), `/workflow status`, `/workflow list`',
  '- `/workflow save <name> [run]`: a pull request adding the run\'s script to `.claude/workflows/`',
  '- `/workflow help`: this message',
].join('\n');

/** The same rules as a comment: the config's trigger role, one polite refusal where the run reports. */
export async function takeCheckAction(job: CheckActionJob, octokit: InstallationOctokit, queue: AppQueue, options: IntakeOptions): Promise<IntakeOutcome> {
  const entry = await options.registry.get(job.runId);
  if (!entry || entry.repo !== `${job.owner}/${job.repo}`) return { outcome: 'answered', command: `${job.action} of an unknown run` };
  let config: ForemanConfig | null = null;
  try {
    config = await readRepositoryConfig(octokit, job.owner, job.repo);
  } catch (error) {
    // A config broken since the run started: keep the default bar rather than lower it.
    if (!(error instanceof ConfigError)) throw error;
  }
  const allowed = authorize(await actorOn(octokit, job, job.author), config, { kind: 'button', action: job.action });
  if (!allowed.allowed) {
    await postComment(octokit, { owner: job.owner, repo: job.repo, issueNumber: entry.issueNumber }, allowed.refusal);
    return { outcome: 'refused', reason: allowed.reason };
  }
  if (job.action === 'stop') {
    await options.registry.requestStop(job.runId);
    return { outcome: 'answered', command: 'stop' };
  }
  if (entry.state === 'active' || entry.status === 'completed') return { outcome: 'answered', command: 'resume of a run that needs none' };
  const resume: ResumeJob = { runId: job.runId, by: job.author, caps: configCaps(config) };
  return enqueued(await queue.enqueue('resume', `resume:${job.runId}:${job.deliveryId}`, resume, ASKED));
}

export async function takeEvent(job: EventJob, octokit: InstallationOctokit, queue: AppQueue, options: IntakeOptions): Promise<IntakeOutcome> {
  let config: ForemanConfig;
  try {
    config = await readRepositoryConfig(octokit, job.owner, job.repo);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Only a label someone mapped can be meant for Foreman; the config that should map it is broken.
    await postComment(octokit, job, `Foreman cannot use this repository's config, so the label ${inlineCode(job.name)} started nothing.\n\n> ${error.message}\n\nFix the file on the default branch.`);
    return { outcome: 'config-error', message: error.message };
  }
  const start = configuredStart(config, job.event === 'label' ? { kind: 'label', name: job.name } : { kind: 'release' });
  // Most labels and releases are none of Foreman's business: say nothing.
  if (start === null) return { outcome: 'answered', command: `${job.event} with no workflow` };
  const { workflow, args } = start;

  const allowed = authorize(await actorOn(octokit, job, job.author), config, { kind: 'event', event: job.event, name: job.name, workflow });
  if (!allowed.allowed) {
    await postComment(octokit, job, allowed.refusal);
    return { outcome: 'refused', reason: allowed.reason };
  }
  if (job.issueNumber !== null) {
    const active = await activeRun(options.registry, { ...job, issueNumber: job.issueNumber });
    if (active) {
      await postComment(octokit, job, busyMessage(active));
      return { outcome: 'answered', command: 'busy' };
    }
  }
  const startJob: StartJob = {
    context: startContext(job, {
      trigger: job.event === 'label' ? labelTrigger(job.name, job.author) : releaseTrigger(job.name, job.author),
      author: job.author,
      workflow,
      args,
      config,
    }),
    ...(job.event === 'release' ? { tag: job.name } : {}),
  };
  return enqueued(await queue.enqueue('start', `event:${job.deliveryId}`, startJob, { priority: job.event === 'release' ? SWEEP_PRIORITY : ASKED_PRIORITY }));
}

/** A resume runs under the caps the default branch's config has now: that is how a cap is raised here. */
function configCaps(config: ForemanConfig | null): RunCaps {
  const limits = config?.limits ?? {};
  return {
    ...(limits.budgetTokens !== undefined ? { budgetTokens: limits.budgetTokens } : {}),
    ...(limits.maxCostUsd !== undefined ? { maxCostUsd: limits.maxCostUsd } : {}),
    ...(limits.agentsPerRun !== undefined ? { maxAgents: limits.agentsPerRun } : {}),
  };
}
