// The intake of a `/workflow` comment, after the webhook was acknowledged: read the repository's
// config, check that the commenter may ask, acknowledge with a reaction, and answer or enqueue
// the run. Everything a stranger can cause is one polite reply at most: the job is keyed by the
// delivery, so a redelivered webhook is never answered twice.
import type { Octokit } from '@octokit/core';
import { ConfigError, CONFIG_PATH, validateConfig } from '../config/load.ts';
import type { ForemanConfig } from '../config/schema.ts';
import type { WorkQueue } from '../runtime/queue.ts';
import { listWorkflows } from '../workflows/load.ts';
import type { CommentJob } from './deliveries.ts';

/** What intake needs of an installation's Octokit: requests, and Probot's config plugin. */
export type InstallationOctokit = Pick<Octokit, 'request'> & {
  config: { get(options: { owner: string; repo: string; path: string }): Promise<{ config: Record<string, unknown> }> };
};

export type IntakeOutcome =
  | { outcome: 'refused'; reason: string }
  | { outcome: 'config-error'; message: string }
  | { outcome: 'answered'; command: string }
  | { outcome: 'enqueued'; jobId: number; created: boolean };

const ROLE_RANK = { read: 1, triage: 2, write: 3, maintain: 4, admin: 5 } as const;
type Role = keyof typeof ROLE_RANK;

/** A `run` job: the comment, its config, and who may be told about it. */
export interface RunJob extends CommentJob {
  config: ForemanConfig;
}

export interface IntakeOptions {
  /** Foreman's built-in workflows/ directory, for `/workflow list`. */
  builtinDir: string;
}

export async function takeComment(job: CommentJob, octokit: InstallationOctokit, queue: WorkQueue, options: IntakeOptions): Promise<IntakeOutcome> {
  const repo = { owner: job.owner, repo: job.repo };
  let config: ForemanConfig | null = null;
  let configProblem: string | null = null;
  try {
    const { config: raw } = await octokit.config.get({ ...repo, path: CONFIG_PATH });
    config = validateConfig(raw, CONFIG_PATH);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configProblem = error.message;
  }

  const needed: Role = config?.permissions?.trigger ?? 'write';
  const role = await roleOf(octokit, job);
  if (role === null || ROLE_RANK[role] < ROLE_RANK[needed]) {
    const reason = `${job.author} has ${role ?? 'no'} access; \`/workflow\` needs ${needed}`;
    await reply(
      octokit,
      job,
      `@${job.author}, thanks for asking: Foreman starts workflows only for people with **${needed}** access to this repository` +
        ` (you have ${role ?? 'none'}). A maintainer can run the same command for you.`,
    );
    return { outcome: 'refused', reason };
  }

  await octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { ...repo, comment_id: job.commentId, content: 'eyes' });
  if (configProblem !== null) {
    await reply(octokit, job, `Foreman cannot use this repository's config, so nothing was started.\n\n> ${configProblem}\n\nFix the file on the default branch, then comment again.`);
    return { outcome: 'config-error', message: configProblem };
  }

  const { command } = job;
  switch (command.kind) {
    case 'help':
      await reply(octokit, job, HELP);
      return { outcome: 'answered', command: 'help' };
    case 'list':
      await reply(octokit, job, await listing(octokit, job, options.builtinDir));
      return { outcome: 'answered', command: 'list' };
    case 'invalid':
      await reply(octokit, job, `That \`/workflow\` command was not understood: ${command.problem}.\n\n${HELP}`);
      return { outcome: 'answered', command: 'invalid' };
    case 'run': {
      const run: RunJob = { ...job, config: config ?? {} };
      // Keyed by the comment: however often it is delivered, it starts one run.
      const { id, created } = await queue.enqueue('run', `comment:${job.owner}/${job.repo}#${job.commentId}`, run);
      return { outcome: 'enqueued', jobId: id, created };
    }
    default:
      await reply(octokit, job, `\`/workflow ${command.kind}\` is not available in this version of Foreman yet. ${HELP_LINE}`);
      return { outcome: 'answered', command: command.kind };
  }
}

/** The commenter's role on the repository, or null when GitHub knows of none. */
async function roleOf(octokit: InstallationOctokit, job: CommentJob): Promise<Role | null> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { owner: job.owner, repo: job.repo, username: job.author });
    const named = (data as { role_name?: string }).role_name;
    if (named && named in ROLE_RANK) return named as Role;
    return data.permission in ROLE_RANK ? (data.permission as Role) : null;
  } catch (error) {
    // 404: not a collaborator at all (for example someone commenting on a public repository).
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
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
  const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  return [
    '**Workflows** for `/workflow <name> [args]`:',
    '',
    '| name | from | what it does |',
    '| --- | --- | --- |',
    ...saved.map((name) => `| \`${name}\` | \`.claude/workflows/${name}.js\` | |`),
    ...builtin.filter((w) => !saved.includes(w.name)).map((w) => `| \`${w.name}\` | built in | ${cell(w.description)} |`),
    '',
    'Or describe what to do in words: `/workflow <request>` has a workflow written for it, shown as a plan first.',
  ].join('\n');
}

async function reply(octokit: InstallationOctokit, job: CommentJob, body: string): Promise<void> {
  await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: job.owner, repo: job.repo, issue_number: job.issueNumber, body });
}

const HELP_LINE = 'Comment `/workflow help` for the commands.';

export const HELP = [
  '**Foreman** runs workflows on this repository. On the first line of a comment:',
  '',
  '- `/workflow <name> [args]`: run a saved (`.claude/workflows/<name>.js`) or built-in workflow; args are JSON or text',
  '- `/workflow <what to do, in words>`: have a workflow written for the request, shown as a plan first',
  '- `/workflow approve | stop | resume [run]`, `/workflow status`, `/workflow list`',
  '- `/workflow save <name> [run]`: a pull request adding the run\'s script to `.claude/workflows/`',
  '- `/workflow help`: this message',
].join('\n');
