// A run's change refs kept in the run store, so that nothing a resume needs lives on one worker's
// disk: every ref the run writes is saved as a bundle before the journal can refer to it, and a
// resume restores them into whichever clone it runs in before anything reads them.
import type { Store } from '../contracts/store.ts';
import type { ChangeKeeper } from '../workspace/changes.ts';
import { bundleChange, changePresent, restoreChange } from '../workspace/change-bundle.ts';

/** Saves each change ref of run `runId` in `store`; a ref saved at the same commit is not bundled again. */
export function storeKeeper(store: Store, run: { id: string; repoDir: string; baseSha: string }): ChangeKeeper {
  const saved = new Map<string, string>();
  return {
    async kept(ref, commit) {
      if (saved.get(ref) === commit) return;
      await store.saveChangeBundle(run.id, await bundleChange(run.repoDir, run.baseSha, ref, commit));
      saved.set(ref, commit);
    },
    async dropped(ref) {
      saved.delete(ref);
      await store.deleteChangeBundle(run.id, ref);
    },
  };
}

/**
 * Puts the run's stored change refs into `repoDir` where they are missing or point elsewhere (a
 * resume in another clone, or on a wiped disk). Refs the store does not hold are left alone: a run
 * begun before the store kept bundles still has its refs only in its first clone.
 *
 * The refs are listed first and a bundle's bytes read only for a ref the clone lacks, one at a
 * time: a run may keep many bundles of up to 32 MiB each, and a resume in the clone that made
 * them needs none.
 */
export async function restoreRunChanges(store: Store, run: { id: string; repoDir: string }): Promise<number> {
  let restored = 0;
  for (const change of await store.listChanges(run.id)) {
    if (await changePresent(run.repoDir, run.id, change)) continue;
    const bundle = await store.getChangeBundle(run.id, change.ref);
    if (bundle && (await restoreChange(run.repoDir, run.id, bundle)) === 'restored') restored++;
  }
  return restored;
}
