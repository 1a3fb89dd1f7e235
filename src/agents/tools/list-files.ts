// list_files: the files under a directory, shallowest first, optionally through a glob.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { compileGlob, GlobError } from '../../workspace/glob.ts';
import { resolveInRoot, toPosix } from './confinement.ts';
import { defineTool, MAX_TOOL_OUTPUT, text, ToolError } from './tool.ts';

export const MAX_LIST_ENTRIES = 2_000;
/** list_files lets the event loop turn after matching this many names, however large a directory is. */
const MATCHES_PER_TURN = 64;

const args = z.object({
  path: text('Directory relative to the repository root. Default: the root.').optional(),
  glob: text('Only files matching this glob, relative to `path`, e.g. "src/**/*.ts". A glob without "/" matches file names at any depth, e.g. "*.md".').optional(),
});

export const listFilesTool = defineTool({
  name: 'list_files',
  description:
    'List files under a directory of the repository, recursively (shallow files first), skipping .git. ' +
    `Paths in the output are relative to the repository root. At most ${MAX_LIST_ENTRIES} entries; narrow with path or glob when truncated.`,
  args,
  run: (input, { root }) => listFiles(input, root),
});

async function listFiles({ path: requested, glob }: z.output<typeof args>, root: string): Promise<string> {
  const base = await resolveInRoot(root, requested);
  const matches = glob ? globMatcher(glob) : () => true;

  if (!(await stat(base.absolute)).isDirectory()) {
    const name = path.basename(base.relative);
    return matches(name) ? toPosix(base.relative) : `No files match glob "${glob}".`;
  }

  // Breadth-first, so a truncated listing of a large repository still shows its top levels.
  const found: string[] = [];
  let truncated = false;
  let level: Array<{ absolute: string; relative: string }> = [{ absolute: base.absolute, relative: '' }];
  let matched = 0;
  walk: while (level.length > 0) {
    const next: typeof level = [];
    for (const dir of level) {
      const entries = await readdir(dir.absolute, { withFileTypes: true }).catch(() => []);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name === '.git') continue;
        const relativeToBase = dir.relative ? `${dir.relative}/${entry.name}` : entry.name;
        // Symlinked directories are listed, not followed: they may lead outside the root.
        if (entry.isDirectory()) {
          next.push({ absolute: path.join(dir.absolute, entry.name), relative: relativeToBase });
          continue;
        }
        // Matching is linear, but a glob near its bound over a huge directory still adds up.
        if (glob && ++matched % MATCHES_PER_TURN === 0) await nextTurn();
        if (matches(relativeToBase)) {
          if (found.length === MAX_LIST_ENTRIES) {
            truncated = true;
            break walk;
          }
          found.push(base.relative ? `${toPosix(base.relative)}/${relativeToBase}` : relativeToBase);
        }
      }
    }
    level = next;
  }

  if (found.length === 0) return glob ? `No files match glob "${glob}".` : 'No files.';
  found.sort();
  const note = truncated
    ? `\n[truncated: showing ${MAX_LIST_ENTRIES} files, shallowest first; narrow the listing with path or glob]`
    : '';
  return capOutput(found.join('\n'), note);
}

/** A glob without "/" matches a file name at any depth, as in .gitignore. */
function globMatcher(glob: string): (relativePath: string) => boolean {
  let matches: (p: string) => boolean;
  try {
    matches = compileGlob(glob);
  } catch (error) {
    if (error instanceof GlobError) throw new ToolError(error.message);
    throw error;
  }
  if (glob.includes('/')) return matches;
  return (p) => matches(p.slice(p.lastIndexOf('/') + 1));
}

function capOutput(text: string, note: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text + note;
  const cut = text.lastIndexOf('\n', MAX_TOOL_OUTPUT);
  return `${text.slice(0, cut > 0 ? cut : MAX_TOOL_OUTPUT)}\n[output capped at ${MAX_TOOL_OUTPUT / 1000} KB; narrow it with path or glob]${note}`;
}
