// One worktree per write agent, each a detached checkout of the run's base commit under
// $FOREMAN_HOME/worktrees/<run>/<change>. What an agent leaves is committed to
// refs/foreman/<run>/<change>: the ref outlives the worktree, so a resumed run finds the change
// again after a crash removed every worktree.
import { access, copyFile, lstat, mkdir, rm, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SHARED_CHANGE_ID, type ChangeFile, type ChangeSnapshot } from '../contracts/ports.ts';
import { createRunCheckout, runWorktreeDir } from './checkout.ts';
import { git } from './git.ts';
import { protectedReason } from './protected-paths.ts';

/** The diff a script sees is capped; the commit always holds the whole change. */
export const MAX_DIFF_CHARS = 100_000;

/** Who the change commits are by; proposals get their own commit and message later. */
const IDENTITY = ['-c', 'user.name=Foreman', '-c', 'user.email=foreman@users.noreply.github.com'];


export const changeRef = (runId: string, changeId: string): string => `refs/foreman/${runId}/${changeId}`;


/**
 * The run's checkout (createRunCheckout), which its plain agents share: for a resumed run, with the
 * files of the shared worktree's last snapshot, so the edits of agents the journal replays are there.
 */
export async function openSharedWorktree(repo: string, sha: string, home: string, runId: string): Promise<string> {
  const saved = await git(repo, ['rev-parse', '--verify', '--quiet', changeRef(runId, SHARED_CHANGE_ID)]).then(
    (out) => out.trim() || undefined,
    () => undefined,
  );
  return createRunCheckout(repo, sha, home, runId, saved);
}

/**
 * edit_file and write_file refuse protected files (workflows, actions, Foreman's config), but a
 * command the agent ran (`npm test` running what it wrote) can still change them. Whatever it
 * changed there goes back to the base in the index, so no change, gate or pull request carries
 * it, and on disk unless `onDisk` is false; returns `path: why` for each. `env` selects another
 * index (GIT_INDEX_FILE). The shared worktree passes `onDisk: false`: its agents may still be
 * running commands there, and a directory swapped for a link between git's look and a removal
 * would make Foreman, outside the sandbox, delete what the link points at.
 */
export async function dropProtectedChanges(dir: string, baseSha: string, env: Record<string, string> = {}, { onDisk = true } = {}): Promise<string[]> {
  const staged = (await git(dir, ['diff', '--cached', '--name-only', '-z', '--no-renames', baseSha], { env })).split('\0').filter(Boolean);
  const leftOut: string[] = [];
  // Workflows first: once they are back as in the base, the local actions they use are known.
  const ordered = [...staged.filter((p) => p.startsWith('.github/')), ...staged.filter((p) => !p.startsWith('.github/'))];
  for (const path of ordered) {
    const why = await protectedReason(dir, path);
    if (!why) continue;
    leftOut.push(`${path}: ${why}`);
    await git(dir, ['reset', '--quiet', baseSha, '--', path], { env });
    if (!onDisk) continue;
    const inBase = (await git(dir, ['ls-tree', '--name-only', baseSha, '--', path])).trim() !== '';
    if (inBase) await git(dir, ['checkout', baseSha, '--', path], { env });
    else await removeInside(dir, path);
  }
  return leftOut;
}

/** Removes `path` under `dir` unless a directory on the way is a link: never a file outside `dir`. */
async function removeInside(dir: string, path: string): Promise<void> {
  const parts = path.split('/');
  for (let depth = 1; depth < parts.length; depth++) {
    const stats = await lstat(join(dir, ...parts.slice(0, depth))).catch(() => null);
    if (!stats?.isDirectory()) return;
  }
  await rm(join(dir, path), { force: true });
}

/**
 * Told of every change ref this run writes or deletes, so the refs can be kept beyond this clone
 * (the run store's bundles). `kept` resolves once the commit is safe: callers journal after it.
 */
export interface ChangeKeeper {
  kept(ref: string, commit: string): Promise<void>;
  /** Called before the ref goes: a crash in between leaves the ref here, never the copy alone. */
  dropped(ref: string): Promise<void>;
}

export class ChangeWorktrees {
  readonly #repo: string;
  readonly #home: string;
  readonly #runId: string;
  readonly #baseSha: string;
  readonly #keeper: ChangeKeeper | undefined;

  constructor(options: { repo: string; home: string; runId: string; baseSha: string; keeper?: ChangeKeeper }) {
    this.#repo = options.repo;
    this.#home = options.home;
    this.#runId = options.runId;
    this.#baseSha = options.baseSha;
    this.#keeper = options.keeper;
  }

  /** Points the change's ref at `commit`, and keeps it (see ChangeKeeper) before returning. */
  async #setRef(changeId: string, commit: string): Promise<void> {
    const ref = changeRef(this.#runId, changeId);
    await git(this.#repo, ['update-ref', ref, commit]);
    await this.#keeper?.kept(ref, commit);
  }

  async #deleteRef(changeId: string): Promise<void> {
    const ref = changeRef(this.#runId, changeId);
    await this.#keeper?.dropped(ref);
    // Already gone (a discard cut short, then resumed) is gone.
    await git(this.#repo, ['update-ref', '-d', ref]).catch(() => undefined);
  }

  dirOf(changeId: string): string {
    return join(runWorktreeDir(this.#home, this.#runId), changeId);
  }

  /** A fresh worktree of the base commit: the write agent's root. */
  async open(changeId: string): Promise<string> {
    const dir = this.dirOf(changeId);
    // A leftover from an attempt that crashed before its snapshot starts over from the base.
    await this.#removeWorktree(dir);
    await mkdir(runWorktreeDir(this.#home, this.#runId), { recursive: true });
    await git(this.#repo, ['worktree', 'add', '--detach', '--quiet', dir, this.#baseSha]);
    return dir;
  }

  /**
   * Commits everything the agent left (new, changed and deleted files; .gitignore honoured) as a
   * child of the base commit, under the change's ref. null when the agent changed nothing.
   */
  async snapshot(changeId: string, message: string): Promise<ChangeSnapshot | null> {
    const dir = this.dirOf(changeId);
    await git(dir, ['add', '--all']);
    const leftOut = await dropProtectedChanges(dir, this.#baseSha);
    const tree = (await git(dir, ['write-tree'])).trim();
    const baseTree = (await git(this.#repo, ['rev-parse', `${this.#baseSha}^{tree}`])).trim();
    if (tree === baseTree) return null;
    const commit = (await git(dir, [...IDENTITY, 'commit-tree', tree, '-p', this.#baseSha, '-m', message])).trim();
    await this.#setRef(changeId, commit);
    // The worktree now sits on the change commit, so reviewers and the gate see exactly it.
    await git(dir, ['reset', '--quiet', '--soft', commit]);
    return { commit, ...(await this.describe(commit)), ...(leftOut.length > 0 ? { leftOut } : {}) };
  }

  /**
   * Commits what the worktree `dir` holds, as snapshot() does, under the change's ref, but leaves
   * `dir`'s HEAD and index alone: it is the run's shared worktree, where agents keep working and
   * `git diff` must keep showing their edits against the base. A copy of its index does the work,
   * so only files whose stat changed are hashed again. A tree equal to the last snapshot's keeps
   * that commit (a resumed run makes no second one); a tree equal to the base removes the ref.
   * Callers run one at a time.
   */
  async snapshotInPlace(dir: string, changeId: string, message: string): Promise<ChangeSnapshot | null> {
    const index = join(runWorktreeDir(this.#home, this.#runId), `.${changeId}.index`);
    const env = { GIT_INDEX_FILE: index };
    const worktreeIndex = resolve(dir, (await git(dir, ['rev-parse', '--git-path', 'index'])).trim());
    await copyFile(worktreeIndex, index);
    // The copy keeps the index's mtime: git trusts a file's cached stat only when it is older than
    // its index, so a copy stamped now would hide a same-size edit made within the same second.
    const { atime, mtime } = await stat(worktreeIndex);
    await utimes(index, atime, mtime);
    let tree: string;
    let leftOut: string[];
    try {
      await git(dir, ['add', '--all'], { env });
      leftOut = await dropProtectedChanges(dir, this.#baseSha, env, { onDisk: false });
      tree = (await git(dir, ['write-tree'], { env })).trim();
    } finally {
      await rm(index, { force: true });
    }
    const dropped = leftOut.length > 0 ? { leftOut } : {};
    const previous = await this.commitOf(changeId);
    if (previous && (await git(this.#repo, ['rev-parse', `${previous}^{tree}`])).trim() === tree) {
      // Kept again: a crash may have come between the ref and its keeping (a no-op otherwise).
      await this.#keeper?.kept(changeRef(this.#runId, changeId), previous);
      return { commit: previous, ...(await this.describe(previous)), ...dropped };
    }
    if (tree === (await git(this.#repo, ['rev-parse', `${this.#baseSha}^{tree}`])).trim()) {
      if (previous) await this.#deleteRef(changeId);
      return null;
    }
    const commit = (await git(dir, [...IDENTITY, 'commit-tree', tree, '-p', this.#baseSha, '-m', message])).trim();
    await this.#setRef(changeId, commit);
    return { commit, ...(await this.describe(commit)), ...dropped };
  }

  /** Gives `commit` a change of its own named `<prefix>-<its tree>`, with its ref; returns the id. */
  async nameByContent(prefix: string, commit: string): Promise<string> {
    const tree = (await git(this.#repo, ['rev-parse', `${commit}^{tree}`])).trim();
    const id = `${prefix}-${tree.slice(0, 10)}`;
    await this.#setRef(id, commit);
    return id;
  }

  /** Files and capped diff of a change commit against the base. */
  async describe(commit: string): Promise<{ files: ChangeFile[]; diff: string }> {
    const numstat = await git(this.#repo, ['diff', '--numstat', '-z', '--no-renames', this.#baseSha, commit]);
    const files: ChangeFile[] = [];
    for (const record of numstat.split('\0')) {
      const match = /^(-|\d+)\t(-|\d+)\t(.+)$/s.exec(record);
      if (!match) continue;
      // Binary files have no line counts.
      files.push({ path: match[3], additions: match[1] === '-' ? 0 : Number(match[1]), deletions: match[2] === '-' ? 0 : Number(match[2]) });
    }
    const full = await git(this.#repo, ['diff', '--no-color', this.#baseSha, commit]);
    const diff = full.length > MAX_DIFF_CHARS ? `${full.slice(0, MAX_DIFF_CHARS)}\n… diff truncated: ${full.length - MAX_DIFF_CHARS} more characters\n` : full;
    return { files, diff };
  }

  /** The commit of a change, or null when it was discarded or never made. */
  async commitOf(changeId: string): Promise<string | null> {
    try {
      return (await git(this.#repo, ['rev-parse', '--verify', '--quiet', changeRef(this.#runId, changeId)])).trim() || null;
    } catch {
      return null;
    }
  }

  /**
   * A worktree holding the change commit, for reviewers and the gate: the write agent's own
   * when it is still there, else a new one from the ref (a resumed run).
   */
  async checkout(changeId: string): Promise<string> {
    const dir = this.dirOf(changeId);
    const commit = await this.commitOf(changeId);
    if (!commit) throw new Error(`change ${changeId} has no commit: it was discarded, or it never changed anything`);
    if (await exists(join(dir, '.git'))) {
      const head = (await git(dir, ['rev-parse', 'HEAD'])).trim();
      if (head === commit) return dir;
    }
    await this.#removeWorktree(dir);
    await mkdir(runWorktreeDir(this.#home, this.#runId), { recursive: true });
    await git(this.#repo, ['worktree', 'add', '--detach', '--quiet', dir, commit]);
    return dir;
  }

  async close(changeId: string): Promise<void> {
    await this.#removeWorktree(this.dirOf(changeId));
  }

  /** Removes the worktree and the ref: the change is gone for good. */
  async discard(changeId: string): Promise<void> {
    await this.close(changeId);
    await this.#deleteRef(changeId);
  }

  async #removeWorktree(dir: string): Promise<void> {
    if (!(await exists(dir))) return;
    await git(this.#repo, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
    // A directory git no longer knows as a worktree (a crash mid-add) goes too.
    await rm(dir, { recursive: true, force: true });
    await git(this.#repo, ['worktree', 'prune']);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
