// The pull request `/workflow save` opens to keep a run's script in `.claude/workflows/` (the plan
// comment a run waits on is src/report/plan-comment.ts).
import type { Octokit } from '@octokit/core';
import { openStore } from '../service/runs.ts';
import type { GitHubRunEntry } from './run-registry.ts';
import type { SaveJob } from './jobs.ts';

/**
 * Opens a pull request that adds the run's script (a generated one, or whatever the run ran) as
 * `.claude/workflows/<name>.js` on the default branch, through the API alone: no clone needed.
 * Returns what to tell the person who asked.
 */
export async function saveWorkflow(octokit: Pick<Octokit, 'request'>, entry: GitHubRunEntry, job: SaveJob, home: string, databaseUrl?: string): Promise<string> {
  const { context } = entry;
  const repo = { owner: context.owner, repo: context.repo };
  let source = context.script?.source ?? null;
  if (source === null && entry.runId) {
    const store = await openStore(home, databaseUrl);
    try {
      source = (await store.getRun(entry.runId))?.source ?? null;
    } finally {
      await store.close();
    }
  }
  if (source === null) return `Foreman no longer has the script of run \`${entry.runId}\`, so there is nothing to save.`;
  const path = `.claude/workflows/${job.name}.js`;
  const exists = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { ...repo, path, ref: context.defaultBranch }).then(
    () => true,
    (error: { status?: number }) => {
      if (error.status === 404) return false;
      throw error;
    },
  );
  if (exists) return `\`${path}\` already exists on \`${context.defaultBranch}\`: choose another name, e.g. \`/workflow save ${job.name}-2\`.`;
  const branch = `foreman/save-${job.name}-${entry.runId ?? `plan-${entry.id}`}`;
  const open = await octokit.request('GET /repos/{owner}/{repo}/pulls', { ...repo, head: `${context.owner}:${branch}`, state: 'open' });
  let url = open.data[0]?.html_url as string | undefined;
  if (!url) {
    const { data: base } = await octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { ...repo, ref: `heads/${context.defaultBranch}` });
    await octokit.request('POST /repos/{owner}/{repo}/git/refs', { ...repo, ref: `refs/heads/${branch}`, sha: base.object.sha }).catch((error: { status?: number }) => {
      // The branch is there from an attempt cut short: the file is put on it again below.
      if (error.status !== 422) throw error;
    });
    await octokit.request('PUT /repos/{owner}/{repo}/contents/{path}', {
      ...repo,
      path,
      branch,
      message: `Save the ${job.name} workflow${entry.runId ? ` from run ${entry.runId}` : ''}`,
      content: Buffer.from(source).toString('base64'),
    });
    const { data: pull } = await octokit.request('POST /repos/{owner}/{repo}/pulls', {
      ...repo,
      head: branch,
      base: context.defaultBranch,
      title: `Save workflow ${job.name}`,
      body: `Adds \`${path}\`, ${context.script ? 'the workflow Foreman wrote' : 'the workflow that ran'} for ${context.trigger}${entry.runId ? ` (run \`${entry.runId}\`)` : ''}, as asked by @${job.author}. Once merged, \`/workflow ${job.name}\` runs it.`,
    });
    url = pull.html_url;
  }
  return `Proposed \`${path}\` in ${url}.`;
}
