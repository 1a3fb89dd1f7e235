// The Action's answers to `/workflow` comments other than a run: every one gets a reply on its
// issue or pull request. What the Action cannot do (resume, save) is answered with what to do
// instead; `approve` hands back the plan to run, after checking it is the Action's own.
import { createHash } from 'node:crypto';
import type { Octokit } from '@octokit/core';
import type { WorkflowCommand } from '../github/commands.ts';
import { postComment } from '../policy/comments.ts';
import { scriptInPlanComment } from '../report/plan-comment.ts';
import { availableNames, type WorkflowDirs } from '../workflows/load.ts';
import { ownComments, type OwnComment, type PlanMarker, type RunMarker } from './own-comments.ts';

type Rest = Pick<Octokit, 'request'>;

export interface CommandPlace {
  octokit: Rest;
  owner: string;
  repo: string;
  issueNumber: number;
  /** Who the token is: only its comments are the Action's plans and runs. */
  identity: string | null;
  /** https://github.com, for links to workflow runs. */
  serverUrl: string;
  /** The checkout's saved workflows and the built-in ones, for `list`. */
  dirs: WorkflowDirs;
}

/** A plan the Action posted, approved: its script verified against the hash it recorded. */
export interface ApprovedPlan {
  commentId: number;
  /** The plan comment's address, for the comment that says it runs. */
  url: string;
  marker: PlanMarker;
  source: string;
}

const ACTION_HELP = [
  '**Foreman** (GitHub Action) runs workflows on this repository. On the first line of a comment:',
  '',
  '- `/workflow <name> [args]`: run a saved (`.claude/workflows/<name>.js`) or built-in workflow; args are JSON or text',
  '- `/workflow <what to do, in words>`: have a workflow written for the request, shown as a plan first',
  '- `/workflow approve`: run the newest plan shown here',
  '- `/workflow status`: the newest run here',
  '- `/workflow stop [run]`: cancel the workflow run executing it (the workflow needs `actions: write`)',
  '- `/workflow list`: the workflows there are',
  '- `/workflow help`: this message',
  '',
  'The Action cannot resume a run or save a script as a workflow: the GitHub App can.',
].join('\n');

const HELP_LINE = 'Comment `/workflow help` for the commands.';

/** Answers the command; resolves to the plan to run for an `approve` that found one, else null. */
export async function answerCommand(command: Exclude<WorkflowCommand, { kind: 'run' }>, at: CommandPlace): Promise<ApprovedPlan | null> {
  const say = (body: string) => postComment(at.octokit, at, body);
  switch (command.kind) {
    case 'help':
      await say(ACTION_HELP);
      return null;
    case 'invalid':
      await say(`That \`/workflow\` command was not understood: ${command.problem}.\n\n${ACTION_HELP}`);
      return null;
    case 'list': {
      const names = await availableNames(at.dirs);
      await say(
        `${names.length > 0 ? `**Workflows** for \`/workflow <name> [args]\`: ${names.map((n) => `\`${n}\``).join(', ')}.` : 'There are no saved workflows yet: save one as `.claude/workflows/<name>.js`.'}\n\n` +
          'Or describe what to do in words: `/workflow <request>` has a workflow written for it, shown as a plan first.',
      );
      return null;
    }
    case 'status':
      await say(await statusOf(at));
      return null;
    case 'stop':
      await say(await stop(at, command.runId));
      return null;
    case 'resume':
      await say(
        "The Action cannot resume a run: its journal, and the commits of the changes it made (in the runner's checkout), lived on the runner, which is gone once the job ends. " +
          'Ask again with the same `/workflow` command to start it over (finished agents are paid for again), or use the GitHub App, which resumes runs, also with an edited saved workflow or new args.',
      );
      return null;
    case 'save':
      await say(
        `The Action does not open pull requests that save scripts. Copy the script from the plan comment into \`.claude/workflows/${command.name}.js\` in a pull request; once it is merged, \`/workflow ${command.name}\` runs it.`,
      );
      return null;
    case 'approve':
      return approve(at, command.runId);
  }
}

async function approve(at: CommandPlace, runId: string | null): Promise<ApprovedPlan | null> {
  if (runId !== null) {
    await postComment(at.octokit, at, `The Action approves the newest plan shown here, not a run by id: comment \`/workflow approve\` alone. ${HELP_LINE}`);
    return null;
  }
  const ran = new Map<number, RunMarker>();
  let plan: OwnComment | null = null;
  for await (const comment of ownComments(at.octokit, at, at.identity)) {
    if (comment.marker.kind === 'run' && comment.marker.plan !== null) ran.set(comment.marker.plan, comment.marker);
    if (comment.marker.kind === 'plan') {
      plan = comment;
      break;
    }
  }
  if (!plan || plan.marker.kind !== 'plan') {
    await postComment(at.octokit, at, `Nothing here waits for approval: \`/workflow approve\` runs the newest plan the Action showed here, and there is none. Ask with \`/workflow <what to do>\`. ${HELP_LINE}`);
    return null;
  }
  const already = ran.get(plan.id);
  if (already) {
    await postComment(at.octokit, at, `[That plan](${plan.url}) was approved already${already.run ? ` and ran as run \`${already.run}\` (${already.status})` : ''}. Ask again with \`/workflow …\` for a new plan.`);
    return null;
  }
  const source = scriptInPlanComment(plan.body);
  if (source === null || sha256(source) !== plan.marker.sha256) {
    await postComment(at.octokit, at, `[The plan](${plan.url}) no longer holds the script the Action wrote (the comment was edited), so nothing runs. Ask again with \`/workflow …\` for a new plan.`);
    return null;
  }
  return { commentId: plan.id, url: plan.url, marker: plan.marker, source };
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function statusOf(at: CommandPlace): Promise<string> {
  for await (const comment of ownComments(at.octokit, at, at.identity)) {
    const { marker } = comment;
    if (marker.kind === 'plan') return `[A plan](${comment.url}) for ${marker.trigger} waits for \`/workflow approve\`.`;
    const what = `Run${marker.run ? ` \`${marker.run}\`` : ''} (\`${marker.workflow}\`, [progress](${comment.url}))`;
    if (marker.status !== 'running') return `${what} is **${marker.status}**.`;
    const job = marker.job === null ? null : await workflowRun(at, marker.job);
    if (job && job.status === 'completed') {
      return `${what} did not finish: [its workflow run](${jobUrl(at, marker.job!)}) ended (${job.conclusion ?? 'completed'}) before the run could report.`;
    }
    return `${what} is **running**${marker.job !== null ? ` in [workflow run ${marker.job}](${jobUrl(at, marker.job)})` : ''}. \`/workflow stop\` stops it.`;
  }
  return `No Foreman run has reported here yet. ${HELP_LINE}`;
}

/** Cancels the workflow runs executing this issue's runs that still report running. */
async function stop(at: CommandPlace, runId: string | null): Promise<string> {
  const lines: string[] = [];
  const seen = new Set<number>();
  for await (const comment of ownComments(at.octokit, at, at.identity)) {
    const { marker } = comment;
    if (marker.kind !== 'run' || marker.status !== 'running' || marker.job === null || seen.has(marker.job)) continue;
    if (runId !== null && marker.run !== runId) continue;
    seen.add(marker.job);
    const name = `run \`${marker.run}\` (\`${marker.workflow}\`)`;
    try {
      await at.octokit.request('POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel', { owner: at.owner, repo: at.repo, run_id: marker.job });
      lines.push(`Cancelling [workflow run ${marker.job}](${jobUrl(at, marker.job)}), which executes ${name}: the run stops, and its progress comment says so.`);
    } catch (error) {
      const status = (error as { status?: number }).status;
      // That workflow run ended already (or is gone), its comment left saying running.
      if (status === 409 || status === 404) continue;
      if (status === 403) {
        lines.push(
          `Foreman cannot cancel [workflow run ${marker.job}](${jobUrl(at, marker.job)}) (${name}): the workflow's token lacks \`actions: write\`. ` +
            'Add `actions: write` to the `permissions:` of the workflow that runs Foreman, or cancel the run from the Actions tab.',
        );
      } else throw error;
    }
  }
  return lines.length > 0 ? lines.join('\n\n') : `There is no Foreman run${runId ? ` \`${runId}\`` : ''} in progress here to stop. ${HELP_LINE}`;
}

async function workflowRun(at: CommandPlace, id: number): Promise<{ status: string; conclusion: string | null } | null> {
  try {
    const { data } = await at.octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', { owner: at.owner, repo: at.repo, run_id: id });
    return { status: data.status ?? 'unknown', conclusion: data.conclusion };
  } catch {
    // Without `actions: read` the comment is all there is to go by.
    return null;
  }
}

const jobUrl = (at: CommandPlace, id: number): string => `${at.serverUrl}/${at.owner}/${at.repo}/actions/runs/${id}`;
