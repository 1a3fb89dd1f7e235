// Files no agent may change: what GitHub runs with a job's token once a branch holding the change
// is pushed (workflows, and the actions they use from the repository itself), and Foreman's own
// config, which would widen what later agents may run.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const FIXED: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /^\.github\/workflows(\/|$)/i, what: 'CI workflows (.github/workflows)' },
  { pattern: /^\.github\/actions(\/|$)/i, what: 'the actions workflows run (.github/actions)' },
  // An action's metadata names the program GitHub runs, in this repository's workflows (`uses: ./`)
  // and in every repository that uses it.
  { pattern: /(^|\/)action\.ya?ml$/i, what: 'action metadata (action.yml)' },
  { pattern: /^\.github\/foreman\.ya?ml$/i, what: "Foreman's config (.github/foreman.yml)" },
];

// `uses: ./path` (optionally quoted) in a workflow: a local action, run with the job's token.
const LOCAL_ACTION = /^\s*(?:-\s*)?uses\s*:\s*['"]?\.\/([^'"\s#]*)/gim;
/** Workflow files read for local actions; larger ones are not workflows anyone wrote by hand. */
const MAX_WORKFLOW_BYTES = 1_000_000;

/**
 * Why the file at `relative` (POSIX, from the root) is protected, or null. Besides FIXED, every
 * directory a workflow under `root` uses as a local action (`uses: ./tools/deploy`) is protected.
 */
export async function protectedReason(root: string, relative: string): Promise<string | null> {
  const fixed = FIXED.find(({ pattern }) => pattern.test(relative));
  if (fixed) return fixed.what;
  for (const dir of await localActionDirs(root)) {
    if (relative.toLowerCase() === dir.toLowerCase() || relative.toLowerCase().startsWith(`${dir.toLowerCase()}/`)) {
      return `a local action a workflow uses (./${dir})`;
    }
  }
  return null;
}

async function localActionDirs(root: string): Promise<string[]> {
  const workflows = path.join(root, '.github', 'workflows');
  const entries = await readdir(workflows, { withFileTypes: true }).catch(() => []);
  const dirs = new Set<string>();
  for (const entry of entries) {
    if (!entry.isFile() || !/\.ya?ml$/i.test(entry.name)) continue;
    const text = await readFile(path.join(workflows, entry.name), 'utf8').catch(() => '');
    if (text.length > MAX_WORKFLOW_BYTES) continue;
    for (const match of text.matchAll(LOCAL_ACTION)) {
      const dir = path.posix.normalize(match[1]).replace(/\/+$/, '');
      // `uses: ./` is the repository's own root action: its action.yml is protected above.
      if (dir !== '.' && dir !== '' && !dir.startsWith('..')) dirs.add(dir);
    }
  }
  return [...dirs];
}
