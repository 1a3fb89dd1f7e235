// The engine's ChangeWorkspace, put together from the workspace layer: worktrees per change, the
// gate, and whichever Proposer the front door chose (local branches, or pull requests).
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import { urlsIn } from '../report/inert-markdown.ts';
import { proposalBranch, proposalBranchPrefix, renderCommitMessage, renderProposalBody } from '../report/proposal.ts';
import type { ChangeWorkspace, Proposer } from '../contracts/ports.ts';
import { SHARED_CHANGE_ID, type ChangeSnapshot } from '../contracts/ports.ts';
import { ChangeWorktrees, type ChangeKeeper } from '../workspace/changes.ts';
import { git } from '../workspace/git.ts';
import { createGateRunner, type GateSlots, planGate } from '../workspace/gate.ts';
import type { SandboxChoice } from '../workspace/sandbox.ts';

export interface RunWorkspaceOptions {
  repo: string;
  home: string;
  runId: string;
  baseSha: string;
  config: ForemanConfig;
  proposer: Proposer;
  /** The environment gate commands start from; secrets are removed before they run. */
  env: NodeJS.ProcessEnv;
  /** Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command runs. */
  secrets?: Iterable<string>;
  /** The gate slots this run shares with the process's other runs (default: processGateSlots()). */
  gateSlots?: GateSlots;
  /** The sandbox gate steps run in. */
  sandbox: SandboxChoice;
  /** Why gates and proposals are refused for this run (untrusted code), if they are. */
  refusal?: string;
  /** The run's shared worktree (the plain agents' root), which snapshotShared commits. */
  sharedRoot?: string;
  /** Where every change ref the run writes is kept beyond this clone (the run store). */
  keeper?: ChangeKeeper;
}

export const DEFAULT_GATE_TIMEOUT_MS = CONFIG_DEFAULTS.gate.timeoutMs;

export function createRunWorkspace(options: RunWorkspaceOptions): ChangeWorkspace {
  const worktrees = new ChangeWorktrees(options);
  // Gates take slots from one pool per process (one per CPU core), shared with every other run
  // in it; the repository's gate.concurrency only caps this run's share (see processGateSlots).
  const gates = createGateRunner({
    home: options.home,
    concurrency: options.config.gate?.concurrency,
    ...(options.gateSlots ? { slots: options.gateSlots } : {}),
    timeoutMs: options.config.gate?.timeoutMs ?? DEFAULT_GATE_TIMEOUT_MS,
    env: options.env,
    sandbox: options.sandbox,
    ...(options.config.sandbox?.network ? { network: options.config.sandbox.network } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });

  // Snapshots of the shared worktree one at a time, so a later one never lands before an earlier
  // one; a request made while one waits to start shares it, since it will see the same tree or a
  // later one: a fan-out of agents that ran commands queues one snapshot at a time, not one each.
  let sharedQueue: Promise<unknown> = Promise.resolve();
  let sharedWaiting: Promise<(ChangeSnapshot & { id: string }) | null> | null = null;

  return {
    open: (id) => worktrees.open(id),
    snapshot: (id, message) => worktrees.snapshot(id, message),
    snapshotShared(message, { candidate = false } = {}) {
      const root = options.sharedRoot;
      if (!root) return Promise.resolve(null);
      if (!candidate && sharedWaiting) return sharedWaiting;
      const next: Promise<(ChangeSnapshot & { id: string }) | null> = sharedQueue.then(async () => {
        if (sharedWaiting === next) sharedWaiting = null;
        const made = await worktrees.snapshotInPlace(root, SHARED_CHANGE_ID, message);
        if (!made) return null;
        return { id: candidate ? await worktrees.nameByContent(SHARED_CHANGE_ID, made.commit) : SHARED_CHANGE_ID, ...made };
      });
      if (!candidate) sharedWaiting = next;
      sharedQueue = next.catch(() => undefined);
      return next;
    },
    checkout: (id) => worktrees.checkout(id),
    close: (id) => worktrees.close(id),
    discard: (id) => worktrees.discard(id),

    async gate(id, signal) {
      if (options.refusal) throw new Error(`gate() refused: ${options.refusal}`);
      const dir = await worktrees.checkout(id);
      const plan = await planGate(dir, options.config.gate);
      return gates.run(dir, plan, signal);
    },

    async propose(input) {
      if (options.refusal) throw new Error(`propose() refused: ${options.refusal}`);
      const commit = await worktrees.commitOf(input.changeId);
      if (!commit) throw new Error(`propose(): change ${input.changeId} (${input.label}) has no commit any more: it was discarded`);
      const body = renderProposalBody({
        body: input.body,
        runId: options.runId,
        changeId: input.changeId,
        label: input.label,
        files: input.files,
        gate: input.gate,
        costUsd: input.costUsd,
        ...(input.votes ? { votes: input.votes } : {}),
        keepUrls: await urlsInBase(options.repo, options.baseSha, commit),
      });
      return options.proposer.propose({
        runId: options.runId,
        changeId: input.changeId,
        branch: proposalBranch(options.runId, input.changeId, input.title),
        branchPrefix: proposalBranchPrefix(options.runId, input.changeId),
        commitSha: commit,
        baseSha: options.baseSha,
        title: input.title,
        body,
        message: renderCommitMessage({ title: input.title, body: input.body, runId: options.runId, changeId: input.changeId }),
        draft: input.draft,
      });
    },
  };
}

/** How much of the base the links of a pull request body are checked against. */
const MAX_BASE_FILES = 200;
const MAX_BASE_BYTES = 8 * 1024 * 1024;
const MAX_BASE_FILE_BYTES = 1024 * 1024;

/**
 * The URLs the repository held before the change, in the files the change touches: the links and
 * images of a pull request body that may stay (inert-markdown.ts). What the change adds is the
 * model's, so only the base versions count.
 */
async function urlsInBase(repo: string, baseSha: string, commit: string): Promise<Set<string>> {
  const urls = new Set<string>();
  const touched = (await git(repo, ['diff', '--name-only', '-z', '--no-renames', '--diff-filter=MD', baseSha, commit])).split('\0').filter(Boolean);
  if (touched.length === 0) return urls;
  // Sizes first (mode type sha size<TAB>path): a file too large to be read whole is skipped.
  const listing = await git(repo, ['ls-tree', '-l', '-z', baseSha, '--', ...touched.slice(0, MAX_BASE_FILES)]);
  let budget = MAX_BASE_BYTES;
  const blobs: string[] = [];
  for (const entry of listing.split('\0').filter(Boolean)) {
    const [meta, path] = entry.split('\t');
    const [, type, sha, size] = meta.split(/\s+/);
    if (type !== 'blob' || Number(size) > MAX_BASE_FILE_BYTES || Number(size) > budget || !path) continue;
    budget -= Number(size);
    blobs.push(sha!);
  }
  if (blobs.length === 0) return urls;
  // One git for every file: each blob comes after a `<sha> blob <size>` line and before a line
  // break, and neither holds a URL nor lets one run from one file into the next.
  urlsIn(await git(repo, ['cat-file', '--batch'], { input: `${blobs.join('\n')}\n` }), urls);
  return urls;
}
