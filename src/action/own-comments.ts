// The Action keeps nothing between jobs: what it wrote on an issue or pull request is its memory.
// Its plan and progress comments end with a marker; a comment counts only when the Action's own
// identity (the token's user, e.g. github-actions[bot]) wrote it, so nobody else's comment can
// pose as a plan or a run.
import type { Octokit } from '@octokit/core';

export interface PlanMarker {
  kind: 'plan';
  /** Of the script shown in the comment: what runs on approval must be what was shown. */
  sha256: string;
  /** The commit the plan was made for: on a pull request, the approval is for that head. */
  commit: string;
  workflow: string;
  origin: string;
  args: unknown;
  /** What asked for it, for the approved run's report. */
  trigger: string;
}

export interface RunMarker {
  kind: 'run';
  /** Foreman's run id (null before the run existed). */
  run: string | null;
  /** running, completed, failed, stopped, not started. */
  status: string;
  /** The GitHub Actions workflow run (GITHUB_RUN_ID) the run is executing in: what stop cancels. */
  job: number | null;
  workflow: string;
  /** The plan comment this run was approved from. */
  plan: number | null;
}

export type Marker = PlanMarker | RunMarker;

export interface OwnComment {
  id: number;
  url: string;
  marker: Marker;
  body: string;
}

/** The longest marker read back (base64url characters): the writer refuses longer ones. */
export const MAX_MARKER_CHARS = 20_000;
const MARKER = new RegExp(`\\n<!-- foreman-action:([A-Za-z0-9_-]{1,${MAX_MARKER_CHARS}}) -->$`);
const PER_PAGE = 100;
/** The newest 1,000 comments are searched; anything older is not looked at. */
const MAX_PAGES = 10;

/** The last line of a comment the Action writes. */
export function markerLine(marker: Marker): string {
  const encoded = Buffer.from(JSON.stringify(marker)).toString('base64url');
  // A marker the reader would not take back makes a plan nobody can approve: refuse it here.
  if (encoded.length > MAX_MARKER_CHARS) throw new MarkerTooLongError(`what this comment must remember is too long (${encoded.length} characters of ${MAX_MARKER_CHARS}): shorten the args, or save the workflow in .claude/workflows/ and run it by name`);
  return `<!-- foreman-action:${encoded} -->`;
}

export class MarkerTooLongError extends Error {}

/** The marker at the end of a comment, or null. */
export function markerOf(body: string): Marker | null {
  const found = MARKER.exec(body);
  if (!found) return null;
  try {
    const marker = JSON.parse(Buffer.from(found[1], 'base64url').toString('utf8'));
    if (marker?.kind === 'plan' && typeof marker.sha256 === 'string' && typeof marker.commit === 'string' && typeof marker.workflow === 'string') return marker as PlanMarker;
    if (marker?.kind === 'run' && typeof marker.status === 'string' && typeof marker.workflow === 'string') return marker as RunMarker;
  } catch {
    // Not a marker of ours after all.
  }
  return null;
}

/** The Action's marked comments on an issue or pull request, newest first. */
export async function* ownComments(octokit: Pick<Octokit, 'request'>, where: { owner: string; repo: string; issueNumber: number }, identity: string | null): AsyncGenerator<OwnComment> {
  if (identity === null) return;
  const page = (n: number) => octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner: where.owner, repo: where.repo, issue_number: where.issueNumber, per_page: PER_PAGE, page: n });
  const first = await page(1);
  // GitHub lists comments oldest first: start from the last page.
  const last = Number(/[?&]page=(\d+)[^>]*>;\s*rel="last"/.exec(String(first.headers.link ?? ''))?.[1] ?? 1);
  for (let n = last; n >= Math.max(1, last - MAX_PAGES + 1); n--) {
    const { data } = n === 1 ? first : await page(n);
    for (const comment of [...data].reverse()) {
      if (comment.user?.login !== identity || typeof comment.body !== 'string') continue;
      const marker = markerOf(comment.body);
      if (marker) yield { id: Number(comment.id), url: comment.html_url, marker, body: comment.body };
    }
  }
}
