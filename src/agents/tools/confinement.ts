// The one resolver every tool's paths go through, and what a tool may say about the host: paths
// stay inside the agent's root, out of .git, and off protected files.
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { protectedReason } from '../../workspace/protected-paths.ts';
import { ToolError } from './tool.ts';

export interface ResolvedPath {
  /** Real path on disk (symlinks resolved), inside the root; for a missing path, where it would be. */
  absolute: string;
  /** The requested path, normalised and relative to the root; '' for the root itself. */
  relative: string;
  /** False only when resolved with `allowMissing` and the path does not exist yet. */
  exists: boolean;
}

/**
 * The one resolver every tool goes through, reads and writes alike. A path must stay inside the
 * root lexically (no absolute paths, no `..` out), and its deepest existing ancestor — the path
 * itself when it exists — must stay inside once symlinks are resolved. Checking the ancestor is
 * what stops a write to `link/new.txt` through a symlinked directory that does not contain
 * `new.txt` yet. `absolute` is the resolved location, so callers write there and never follow a
 * link again. With `allowMissing`, a path that does not exist yet resolves (for writes).
 */
export async function resolveInRoot(
  root: string,
  requested: string | undefined,
  options: { allowMissing?: boolean } = {},
): Promise<ResolvedPath> {
  const realRoot = await realpath(root);
  if (requested === undefined || requested === '' || requested === '.') return { absolute: realRoot, relative: '', exists: true };
  if (requested.includes('\0')) throw new ToolError('path contains a NUL character');
  if (path.isAbsolute(requested) || path.win32.isAbsolute(requested)) {
    throw new ToolError(`"${requested}" is an absolute path; use a path relative to the repository root`);
  }
  const lexical = path.resolve(realRoot, requested);
  if (!isInside(realRoot, lexical)) {
    throw new ToolError(`"${requested}" is outside the repository root; ".." may not leave it`);
  }
  const relative = path.relative(realRoot, lexical);
  // .git holds config with remote URLs (sometimes with tokens) and hooks, and in a worktree `.git`
  // is a file pointing at the main repository's: none of it is the agent's business.
  if (hasGitSegment(relative)) throw new ToolError(gitRefusal(requested));

  let existing = lexical;
  const missing: string[] = [];
  while (!(await lstat(existing).then(() => true, (error) => notFound(error, () => false)))) {
    missing.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  if (missing.length > 0 && !options.allowMissing) throw new ToolError(`no such file or directory: "${requested}"`);

  let realExisting: string;
  try {
    realExisting = await realpath(existing);
  } catch (error) {
    // lstat found it, so it is a symlink whose target is missing. Writing through it would
    // create the target wherever it points, so it is refused rather than resolved by hand.
    return notFound(error, () => {
      throw new ToolError(`"${toPosix(path.relative(realRoot, existing))}" is a symbolic link to a missing target; use the path it should point to`);
    });
  }
  if (!isInside(realRoot, realExisting)) {
    throw new ToolError(`"${requested}" is a symbolic link that leads outside the repository root`);
  }
  if (hasGitSegment(path.relative(realRoot, realExisting))) throw new ToolError(gitRefusal(requested));
  if (missing.length > 0 && !(await stat(realExisting)).isDirectory()) {
    throw new ToolError(`"${toPosix(path.relative(realRoot, existing))}" is a file, so "${requested}" cannot be created below it`);
  }
  return { absolute: path.join(realExisting, ...missing), relative, exists: missing.length === 0 };
}

function notFound<T>(error: unknown, then: () => T): T {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return then();
  throw error;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

// Case-insensitive because on macOS and Windows `.GIT` is the same directory as `.git`.
const hasGitSegment = (relative: string): boolean => relative.split(path.sep).some((segment) => segment.toLowerCase() === '.git');

const gitRefusal = (requested: string): string => `"${requested}" is inside .git, which agents may not read or write`;

export const toPosix = (p: string): string => p.split(path.sep).join('/');

/**
 * Error text from outside the tools (git, the file system) as the model may see it: a path in the
 * root becomes relative to it, and any other absolute path (FOREMAN_HOME, the repository's git
 * directory) is hidden, since where Foreman keeps things on the host is none of the model's business.
 */
export async function withoutHostPaths(text: string, root: string): Promise<string> {
  const roots = [...new Set([root, await realpath(root).catch(() => root)])].sort((a, b) => b.length - a.length);
  let out = text;
  for (const dir of roots) {
    const escaped = dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    out = out.replace(new RegExp(`${escaped}(?:/|(?=$|[\\s'"\`),:]))`, 'g'), (found) => (found.endsWith('/') ? '' : '.'));
  }
  return out.replace(/(?<=^|[\s'"`(=:,])\/[^\s'"`),:]*/g, '<a path outside the repository>');
}

// Checked on the requested and the resolved path (a link inside the root could point at either).
export async function refuseProtected(root: string, file: ResolvedPath): Promise<void> {
  const resolved = toPosix(path.relative(await realpath(root), file.absolute));
  for (const candidate of [toPosix(file.relative), resolved]) {
    const reason = await protectedReason(root, candidate);
    if (reason) {
      throw new ToolError(
        `"${candidate}" is protected: agents may not change ${reason}, which GitHub runs with the job's token or which sets what agents may run; describe the change needed in your final answer instead`,
      );
    }
  }
}
