// search: git grep over the root, through Foreman's one git runner.
import { z } from 'zod';
import { runGit } from '../../workspace/git.ts';
import { resolveInRoot, toPosix, withoutHostPaths } from './confinement.ts';
import { defineTool, MAX_TOOL_OUTPUT, text, ToolError } from './tool.ts';

const MAX_SEARCH_LINE_CHARS = 500;
const SEARCH_TIMEOUT_MS = 30_000;

const args = z.object({
  pattern: text('Extended regular expression, e.g. "fetch\\(|axios\\.".'),
  path: text('Directory or file to search, relative to the repository root. Default: the root.').optional(),
  glob: text('Only files matching this glob, relative to `path`, e.g. "*.ts" (any depth) or "lib/**/*.js".').optional(),
});

export const searchTool = defineTool({
  name: 'search',
  description:
    'Search file contents with git grep (POSIX extended regular expressions: use [0-9] rather than \\d). ' +
    'Prints matching lines as path:line:text, paths relative to the repository root; binary files are skipped.',
  args,
  run: (input, { root }) => search(input, root),
});

async function search({ pattern, path: within, glob }: z.output<typeof args>, root: string): Promise<string> {
  if (pattern === '') throw new ToolError('pattern must not be empty');
  const scope = await resolveInRoot(root, within);
  const scopePosix = toPosix(scope.relative);

  const pathspecs: string[] = [];
  if (glob) {
    // Git's glob magic: "**/" matches any depth, so a name-only glob matches everywhere below.
    const below = glob.includes('/') ? glob : `**/${glob}`;
    pathspecs.push(`:(glob)${scopePosix ? `${scopePosix}/` : ''}${below}`);
  } else if (scopePosix) {
    pathspecs.push(`:(literal)${scopePosix}`);
  }

  const gitArgs = ['-c', 'core.quotePath=off', 'grep', '-n', '-I', '-E', '--untracked', '--no-color', '-e', pattern, '--', ...pathspecs];
  // Hardened like every git call of Foreman's (no hooks, filters or drivers the repository names).
  const { stdout, exitCode, stderr, overflowed, timedOut } = await runGit(root, gitArgs, { timeoutMs: SEARCH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  if (timedOut) throw new ToolError(`search timed out after ${SEARCH_TIMEOUT_MS / 1000} s; narrow it with path or glob`);
  if (exitCode === 1 && stdout === '') return 'No matches.';
  if (exitCode !== 0 && !overflowed) {
    throw new ToolError(`search failed: ${(await withoutHostPaths(stderr.trim(), root)) || `git grep exited with ${exitCode}`}`);
  }

  const lines = stdout.split('\n').filter((line) => line !== '');
  const out: string[] = [];
  let size = 0;
  for (const line of lines) {
    const shown = line.length > MAX_SEARCH_LINE_CHARS ? `${line.slice(0, MAX_SEARCH_LINE_CHARS)}… [line truncated]` : line;
    if (size + shown.length + 1 > MAX_TOOL_OUTPUT) break;
    out.push(shown);
    size += shown.length + 1;
  }
  if (out.length < lines.length || overflowed) {
    const total = overflowed ? `more than ${lines.length}` : String(lines.length);
    out.push(`[truncated: ${total} matching lines, showing the first ${out.length}; narrow the pattern, path or glob]`);
  }
  return out.join('\n');
}
