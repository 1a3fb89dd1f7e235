// The CLI's proposer: a local branch per verified change, for the user to push or merge. Only a
// ref is written; the user's HEAD, index and working tree are never touched.
import type { Proposal, ProposalRequest, Proposer } from '../contracts/ports.ts';
import { git, GitError } from './git.ts';
import { branchFolder, checkBranchName, createProposalCommit, earlierProposal, proposalMessage, type ProposalCommitOptions } from './proposal-commit.ts';

export class BranchProposer implements Proposer {
  readonly #repo: string;
  readonly #options: ProposalCommitOptions;

  constructor(repo: string, options: ProposalCommitOptions = {}) {
    this.#repo = repo;
    this.#options = options;
  }

  async propose(request: ProposalRequest): Promise<Proposal> {
    const { branch } = request;
    // Proposed before under another title (or body), and resumed: that branch is the proposal.
    const earlier = await earlierProposal(this.#repo, request, await this.#branchesOf(request));
    if (earlier) return { branch: earlier, pr: null, created: false };
    await checkBranchName(this.#repo, branch);
    const sha = await createProposalCommit(this.#repo, request.commitSha, request.baseSha, proposalMessage(request), this.#options);
    const ref = `refs/heads/${branch}`;
    let existing = await refTarget(this.#repo, ref);
    if (existing === null) {
      try {
        // The empty old value makes the update fail if the branch appeared meanwhile.
        await git(this.#repo, ['update-ref', '-m', `foreman: propose change ${request.changeId} of run ${request.runId}`, ref, sha, '']);
        return { branch, pr: null, created: true };
      } catch (error) {
        if (!(error instanceof GitError)) throw error;
        existing = await refTarget(this.#repo, ref);
        if (existing === null) {
          throw new Error(`cannot create branch ${branch} in ${this.#repo}: ${error.stderr.trim() || 'git gave no reason'}; a branch named like a folder of it (or inside it) may be in the way: rename that one`);
        }
      }
    }
    // Same inputs give the same commit, so this is our own earlier proposal (a resumed run).
    if (existing === sha) return { branch, pr: null, created: false };
    throw new Error(
      `branch ${branch} already exists in ${this.#repo} with other commits (${existing.slice(0, 12)}, expected ${sha.slice(0, 12)}): ` +
        `delete it (git branch -D ${branch}) or rename it (git branch -m ${branch} <new-name>), then resume the run`,
    );
  }

  async #branchesOf(request: ProposalRequest): Promise<Array<{ name: string; sha: string }>> {
    if (!request.branchPrefix) return [];
    const listing = await git(this.#repo, ['for-each-ref', '--format=%(refname:strip=2)%00%(objectname)', branchFolder(request.branchPrefix)]);
    return listing.split('\n').filter(Boolean).map((line) => {
      const [name, sha] = line.split('\0');
      return { name: name!, sha: sha! };
    });
  }
}

async function refTarget(repo: string, ref: string): Promise<string | null> {
  try {
    return (await git(repo, ['rev-parse', '--verify', '--quiet', ref])).trim() || null;
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
}
