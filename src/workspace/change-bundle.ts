// A change's commits as a git bundle, and back: what lets a run store hold a change ref
// (refs/foreman/<run>/<change>) so that any worker, with any clone of the repository, can resume
// the run. A bundle holds the commits on top of the run's base and names the base as its
// prerequisite, so it is as small as the change.
//
// It is written here rather than by `git bundle create`, which packs thin: it deltas new files
// against their versions in the base, and in a partial clone (the App's, src/github/clone.ts)
// those blobs are often absent, so git would fetch them from the remote without credentials. A
// whole (not thin) pack of the objects the base lacks needs nothing the clone does not hold.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CHANGE_BUNDLE_BYTES, oversizedBundleError, type ChangeBundle, type StoredChange } from '../contracts/store.ts';
import { git, GitError } from './git.ts';

/** The bundle of `ref`, which points at `commit`, a descendant of `baseSha`. Refused over the cap. */
export async function bundleChange(repo: string, baseSha: string, ref: string, commit: string, maxBytes = MAX_CHANGE_BUNDLE_BYTES): Promise<ChangeBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'foreman-bundle-'));
  try {
    // --revs with `^base`: the objects of the commit that the base does not reach. Not --thin.
    const name = (await git(repo, ['pack-objects', '--revs', '--delta-base-offset', '-q', join(dir, 'change')], { input: `${commit}\n^${baseSha}\n` })).trim();
    const pack = join(dir, `change-${name}.pack`);
    const format = (await git(repo, ['rev-parse', '--show-object-format'])).trim();
    // Bundle format v2 (SHA-1) or v3 (any hash): header lines, a blank line, then the pack.
    const header = `${format === 'sha1' ? '# v2 git bundle\n' : `# v3 git bundle\n@object-format=${format}\n`}-${baseSha} base\n${commit} ${ref}\n\n`;
    const bytes = Buffer.byteLength(header) + (await stat(pack)).size;
    // Measured before it is read: a change too large is never held in memory.
    if (bytes > maxBytes) throw oversizedBundleError(ref, bytes, maxBytes);
    return { ref, sha: commit, bundle: Buffer.concat([Buffer.from(header), await readFile(pack)]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type RestoreResult = 'present' | 'restored';

/**
 * Points `saved.ref` at `saved.sha` in `repo`, fetching the commits from the bundle when the ref
 * is missing or points elsewhere. Refuses a bundle for a ref outside refs/foreman/<runId>/, one
 * whose contents name another ref or commit than the store says, and one whose result differs.
 */
export async function restoreChange(repo: string, runId: string, saved: ChangeBundle): Promise<RestoreResult> {
  if (await changePresent(repo, runId, saved)) return 'present';
  const dir = await mkdtemp(join(tmpdir(), 'foreman-bundle-'));
  try {
    const file = join(dir, 'change.bundle');
    await writeFile(file, saved.bundle);
    const heads = (await git(repo, ['bundle', 'list-heads', file]).catch(() => '')).trim();
    if (heads !== `${saved.sha} ${saved.ref}`) {
      throw new Error(`the run store's bundle for ${saved.ref} does not hold ${saved.sha} under that ref (it lists ${JSON.stringify(heads.slice(0, 200))}): the stored change is damaged; resume the run from a worker that still has the ref, or start the run again`);
    }
    try {
      await git(repo, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', file, `+${saved.ref}:${saved.ref}`]);
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      throw new Error(`${saved.ref} could not be restored from the run store's bundle (${error.stderr.trim().split('\n')[0] ?? ''}): the repository at ${repo} must hold the run's base commit; fetch it, then resume again`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const now = await refSha(repo, saved.ref);
  if (now !== saved.sha) throw new Error(`${saved.ref} points at ${now ?? 'nothing'} after restoring it from the run store, not ${saved.sha}: resume again`);
  return 'restored';
}

/**
 * Whether `stored.ref` already points at `stored.sha` in `repo`, so its bundle need not be read.
 * Refuses a ref outside refs/foreman/<runId>/.
 */
export async function changePresent(repo: string, runId: string, stored: StoredChange): Promise<boolean> {
  const prefix = `refs/foreman/${runId}/`;
  const change = stored.ref.slice(prefix.length);
  if (!stored.ref.startsWith(prefix) || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(change) || change.endsWith('.lock')) {
    throw new Error(`the run store holds a change bundle for ${stored.ref}, which is not a change ref of run ${runId} (${prefix}<change>): it was not written by this run; delete that row`);
  }
  return (await refSha(repo, stored.ref)) === stored.sha;
}

async function refSha(repo: string, ref: string): Promise<string | null> {
  return git(repo, ['rev-parse', '--verify', '--quiet', ref]).then(
    (out) => out.trim() || null,
    () => null,
  );
}
