// Worktrees per change on a synthetic 20,000-file repository: what one write agent's worktree
// costs in time and disk, through the same ChangeWorktrees the engine uses; and what the run's
// shared worktree (plain agents edit the run's checkout) costs over a checkout nobody writes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_CHANGE_ID } from '../src/contracts/ports.ts';
import { ChangeWorktrees, openSharedWorktree } from '../src/workspace/changes.ts';
import { createRunCheckout, removeRunWorktrees } from '../src/workspace/checkout.ts';
import { gitIn, tempDir } from '../test/support/repo.ts';

const FILES = 20_000;
const CHANGES = 8;

function syntheticRepo(): { repo: string; bytes: number } {
  const repo = tempDir('foreman-bench-20k-');
  gitIn(repo, 'init', '-q', '-b', 'main');
  let bytes = 0;
  // 200 directories of 100 files, each a small source file with some variety.
  for (let d = 0; d < FILES / 100; d++) {
    const dir = join(repo, 'src', `module${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const body = `// module ${d} file ${f}\nexport function f${f}(x) {\n  return x * ${f} + ${d}\n}\n`.repeat(1 + (f % 5));
      writeFileSync(join(dir, `file${f}.js`), body);
      bytes += body.length;
    }
  }
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'synthetic');
  return { repo, bytes };
}

const diskKb = (dir: string): number => Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);

export async function worktreeBench(): Promise<Array<Record<string, string | number>>> {
  const { repo, bytes } = syntheticRepo();
  const shared = await sharedWorktreeRows(repo);
  const home = tempDir('foreman-bench-home-');
  const baseSha = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const worktrees = new ChangeWorktrees({ repo, home, runId: 'bench', baseSha });
  const open: number[] = [];
  const snapshot: number[] = [];
  const remove: number[] = [];
  const disk: number[] = [];
  // As in a run: worktrees are made while the run goes on and removed together at its end.
  const ids = Array.from({ length: CHANGES }, (_, i) => `c${i}`);
  for (const id of ids) {
    const t = performance.now();
    const dir = await worktrees.open(id);
    open.push(performance.now() - t);
    disk.push(diskKb(dir));
    writeFileSync(join(dir, 'src', 'module0', 'file0.js'), `// changed by ${id}\n`);
  }
  for (const id of ids) {
    const t = performance.now();
    await worktrees.snapshot(id, `change ${id}`);
    snapshot.push(performance.now() - t);
  }
  for (const id of ids) {
    const t = performance.now();
    await worktrees.close(id);
    remove.push(performance.now() - t);
  }
  const left = gitIn(repo, 'worktree', 'list').trim().split('\n').length - 1;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const range = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  return [
    { measure: 'files in the repository', value: FILES, note: `${(bytes / 1024 / 1024).toFixed(1)} MB of source` },
    { measure: 'create a change worktree, ms (median, range)', value: Math.round(median(open)), note: range(open) },
    { measure: 'snapshot the change (add, commit, diff), ms', value: Math.round(median(snapshot)), note: range(snapshot) },
    { measure: 'remove the worktree, ms', value: Math.round(median(remove)), note: range(remove) },
    { measure: 'disk per change worktree, MB', value: (median(disk) / 1024).toFixed(1), note: 'a full checkout; objects are shared with the repository' },
    { measure: 'worktrees left after close', value: left, note: 'must be 0' },
    ...shared,
  ];
}

const ROUNDS = 5;

/**
 * The run's checkout as the shared worktree: creating it (as before), the snapshot a run now takes
 * at its end (and after each plain agent that wrote) when nothing changed and when one file did,
 * the same snapshot again (a resume: same tree, no new commit), and a resumed run's checkout
 * restored from the snapshot.
 */
async function sharedWorktreeRows(repo: string): Promise<Array<Record<string, string | number>>> {
  const home = tempDir('foreman-bench-shared-');
  const baseSha = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const times = { create: [] as number[], unchanged: [] as number[], oneFile: [] as number[], again: [] as number[], restore: [] as number[] };
  const timed = async <T>(into: number[], work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await work();
    into.push(performance.now() - t);
    return out;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const runId = `shared${round}`;
    const worktrees = new ChangeWorktrees({ repo, home, runId, baseSha });
    const dir = await timed(times.create, () => createRunCheckout(repo, baseSha, home, runId));
    const none = await timed(times.unchanged, () => worktrees.snapshotInPlace(dir, SHARED_CHANGE_ID, 'nothing'));
    if (none !== null) throw new Error('an untouched shared worktree made a change');
    writeFileSync(join(dir, 'src', 'module7', 'file3.js'), `// changed in round ${round}\n`);
    const first = await timed(times.oneFile, () => worktrees.snapshotInPlace(dir, SHARED_CHANGE_ID, 'one file'));
    const second = await timed(times.again, () => worktrees.snapshotInPlace(dir, SHARED_CHANGE_ID, 'one file'));
    if (!first || first.files.length !== 1 || second?.commit !== first.commit) throw new Error('the one-file snapshot is wrong');
    await timed(times.restore, () => openSharedWorktree(repo, baseSha, home, runId));
    await removeRunWorktrees(repo, home, runId);
    await worktrees.discard(SHARED_CHANGE_ID);
  }
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
  const range = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))} over ${xs.length}`;
  return [
    { measure: "create the run's checkout (pristine or shared: the same), ms", value: median(times.create), note: range(times.create) },
    { measure: 'snapshot the shared worktree, nothing changed, ms', value: median(times.unchanged), note: `${range(times.unchanged)}; the whole extra cost of a run whose agents wrote nothing` },
    { measure: 'snapshot the shared worktree, one file changed, ms', value: median(times.oneFile), note: `${range(times.oneFile)}; index copy, add, commit, numstat and diff` },
    { measure: 'snapshot it again, same tree (a resume), ms', value: median(times.again), note: range(times.again) },
    { measure: "a resumed run's checkout, restored from the snapshot, ms", value: median(times.restore), note: range(times.restore) },
  ];
}
