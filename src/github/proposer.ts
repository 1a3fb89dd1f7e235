// The App's and the Action's proposer: one pull request per verified change, never two. Every
// step can be repeated after a crash: an open PR for the branch is returned as it is, the commit
// is the same for the same inputs so pushing it again changes nothing, and a PR opened by a
// concurrent attempt is found again instead of failing the run.
import type { Octokit } from '@octokit/core';
import { MAX_PR_BODY_CHARS, proposalTitle } from '../report/proposal.ts';
import type { Proposal, ProposalRequest, Proposer } from '../contracts/ports.ts';
import { git, GitError } from '../workspace/git.ts';
import { branchFolder, checkBranchName, createProposalCommit, earlierProposal, proposalMessage, type ProposalCommitOptions } from '../workspace/proposal-commit.ts';
import { gitAuthConfig, scrubToken } from './git-auth.ts';

export interface GitHubProposerOptions extends ProposalCommitOptions {
  octokit: Octokit;
  owner: string;
  repo: string;
  /** The local clone holding the change commits. */
  repoDir: string;
  /** Where branches are pushed; credentials never go in it, the token travels as a header. */
  remoteUrl: string;
  /** An installation or Actions token with contents: write; a function when tokens expire during a run. */
  token: string | (() => Promise<string>);
  /** The branch pull requests are opened against. */
  baseBranch: string;
  /** false: push the branch and open no pull request (the Action's `propose: branch`). */
  pullRequests?: boolean;
}

type PullRef = { number: number; url: string };

export class GitHubProposer implements Proposer {
  readonly #options: GitHubProposerOptions;
  /** The token of the git call under way, for scrubbing what git says. */
  #token = '';

  constructor(options: GitHubProposerOptions) {
    this.#options = options;
  }

  async propose(request: ProposalRequest): Promise<Proposal> {
    const { branch } = request;
    const open = this.#options.pullRequests === false ? null : await this.#findOpenPull(branch);
    if (open) return { branch, pr: open, created: false };

    const { repoDir } = this.#options;
    // Pushed before under another title (or body), then resumed: that branch is the proposal.
    const earlier = await earlierProposal(repoDir, request, await this.#branchesOf(request));
    if (earlier) return this.#proposeFrom(earlier, request);
    await checkBranchName(repoDir, branch);
    const sha = await createProposalCommit(repoDir, request.commitSha, request.baseSha, proposalMessage(request), this.#options);
    await this.#push(sha, branch);
    if (this.#options.pullRequests === false) return { branch, pr: null, created: true };

    const pr = await this.#openPull(request, request.draft);
    return pr ? { branch, pr, created: true } : { branch, pr: await this.#foundAfterRace(branch), created: false };
  }

  /** The pull request of a branch already pushed for this change: its open one, or a new one. */
  async #proposeFrom(branch: string, request: ProposalRequest): Promise<Proposal> {
    if (this.#options.pullRequests === false) return { branch, pr: null, created: false };
    const open = await this.#findOpenPull(branch);
    if (open) return { branch, pr: open, created: false };
    const pr = await this.#openPull({ ...request, branch }, request.draft);
    return pr ? { branch, pr, created: true } : { branch, pr: await this.#foundAfterRace(branch), created: false };
  }

  /** The remote branches in the change's folder, as name and commit. */
  async #branchesOf(request: ProposalRequest): Promise<Array<{ name: string; sha: string }>> {
    if (!request.branchPrefix) return [];
    const folder = branchFolder(request.branchPrefix);
    const out = await this.#lsRemote(`${folder}*`);
    return out.map(({ ref, sha }) => ({ name: ref.slice('refs/heads/'.length), sha }));
  }

  get #slug(): string {
    return `${this.#options.owner}/${this.#options.repo}`;
  }

  async #findOpenPull(branch: string): Promise<PullRef | null> {
    const { octokit, owner, repo } = this.#options;
    try {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls', { owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 10 });
      const pull = data.find((candidate) => candidate.head?.ref === branch);
      return pull ? { number: pull.number, url: pull.html_url } : null;
    } catch (error) {
      throw new Error(`looking for an open pull request from ${branch} in ${this.#slug} failed: ${this.#describe(error)}`);
    }
  }

  /** null when GitHub says a pull request for the branch already exists (another attempt won). */
  async #openPull(request: ProposalRequest, draft: boolean): Promise<PullRef | null> {
    const { octokit, owner, repo, baseBranch } = this.#options;
    try {
      const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls', {
        owner,
        repo,
        title: proposalTitle(request.title, request.changeId),
        head: request.branch,
        base: baseBranch,
        body: request.body.slice(0, MAX_PR_BODY_CHARS),
        draft,
      });
      return { number: data.number, url: data.html_url };
    } catch (error) {
      if (statusOf(error) === 422) {
        const text = errorText(error);
        if (/pull request already exists/i.test(text)) return null;
        // Private repositories on some plans have no draft pull requests; a ready one is better than none.
        if (draft && /draft/i.test(text)) return this.#openPull(request, false);
      }
      throw new Error(`opening a pull request from ${request.branch} into ${baseBranch} in ${this.#slug} failed: ${this.#describe(error)}`);
    }
  }

  async #foundAfterRace(branch: string): Promise<PullRef> {
    const pr = await this.#findOpenPull(branch);
    if (pr) return pr;
    throw new Error(
      `GitHub says a pull request from ${branch} already exists in ${this.#slug}, but no open one was found: ` +
        `it may have been closed just now; look at the repository's pull requests for ${branch}, then resume the run`,
    );
  }

  /** Pushes without force: a branch that holds anything but this commit is left alone. */
  async #push(sha: string, branch: string): Promise<void> {
    const ref = `refs/heads/${branch}`;
    const before = await this.#remoteTarget(ref);
    if (before === sha) return;
    if (before === null) {
      try {
        // --no-verify: the repository's own pre-push hooks (installed by the gate's setup step) are not ours to run.
        await git(this.#options.repoDir, ['push', '--no-verify', '--quiet', this.#options.remoteUrl, `${sha}:${ref}`], { config: await this.#authConfig() });
        return;
      } catch (error) {
        if (!(error instanceof GitError)) throw error;
        const now = await this.#remoteTarget(ref);
        // A concurrent attempt pushed the same commit first.
        if (now === sha) return;
        if (now === null) {
          throw new Error(
            `pushing branch ${branch} to ${this.#slug} failed: ${this.#gitReason(error)}; ` +
              'check that the token may write the repository contents and that the remote URL is right',
          );
        }
      }
    }
    throw new Error(
      `branch ${branch} already exists in ${this.#slug} with other commits than this change's: ` +
        'Foreman never force-pushes; delete or rename that branch on GitHub, then resume the run',
    );
  }

  async #remoteTarget(ref: string): Promise<string | null> {
    return (await this.#lsRemote(ref)).find((line) => line.ref === ref)?.sha ?? null;
  }

  async #lsRemote(pattern: string): Promise<Array<{ ref: string; sha: string }>> {
    try {
      const out = await git(this.#options.repoDir, ['ls-remote', '--refs', this.#options.remoteUrl, pattern], { config: await this.#authConfig() });
      return out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [sha, ref] = line.split('\t');
          return { ref: ref ?? '', sha: sha ?? '' };
        });
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      throw new Error(
        `reading branches of ${this.#slug} failed: ${this.#gitReason(error)}; ` +
          'check that the remote URL is right and that the token may read the repository',
      );
    }
  }

  async #authConfig(): Promise<Array<[string, string]>> {
    const { token } = this.#options;
    this.#token = typeof token === 'string' ? token : await token();
    return gitAuthConfig(this.#options.remoteUrl, this.#token);
  }

  /** What git said, scrubbed; its verbose modes print pages, the end says what went wrong. */
  #gitReason(error: GitError): string {
    const text = this.#scrub(error.stderr.trim());
    if (!text) return 'git gave no reason';
    return text.length <= 2_000 ? text : `…${text.slice(-2_000)}`;
  }

  /** Whatever git or GitHub said, without the token in any form. */
  #scrub(text: string): string {
    return scrubToken(text, typeof this.#options.token === 'string' ? this.#options.token : this.#token);
  }

  #describe(error: unknown): string {
    const status = statusOf(error);
    const text = this.#scrub(errorText(error));
    const hint =
      status === 401
        ? 'the token is invalid or expired; give Foreman a fresh one'
        : status === 403
          ? 'the token may not do this; the GitHub App needs "Pull requests: write" and "Contents: write", an Action needs `permissions: pull-requests: write, contents: write`'
          : status === 404
            ? `${this.#slug} was not found with this token; check the owner and name and that the App is installed there`
            : status === 422
              ? `check that the base branch ${this.#options.baseBranch} exists and differs from the change`
              : 'try again later; GitHub may be unavailable';
    return `${status ? `${status} ` : ''}${text}; ${hint}`;
  }
}

function statusOf(error: unknown): number | null {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : null;
}

/** The message and GitHub's validation errors, which say what was actually wrong. */
function errorText(error: unknown): string {
  const e = error as { message?: unknown; response?: { data?: { message?: unknown; errors?: unknown } } } | null;
  const parts = [typeof e?.message === 'string' ? e.message : String(error)];
  const errors = e?.response?.data?.errors;
  if (Array.isArray(errors)) {
    for (const item of errors) {
      const message = typeof item === 'string' ? item : (item as { message?: unknown })?.message;
      if (typeof message === 'string' && !parts[0].includes(message)) parts.push(message);
    }
  }
  return parts.join(' — ');
}
