// Reading the files that shape a run's agents (agent definitions, CLAUDE.md and its imports) from a
// repository that may be hostile: only regular files, each under a size cap, never outside the
// directory they belong to (a link out of the repository is refused, not followed), a FIFO or a
// device is never opened for reading. From a working tree (the CLI, the Action, the user's home)
// or from a commit of a bare clone (the App reads the default branch's, as for saved workflows).

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { confinedPath, isMissing, readBoundedFile } from '../workspace/bounded-read.ts';
import { git, GitError, runGit } from '../workspace/git.ts';

/** A file that is there but may not be used; the message names it and the fix. */
export class ProjectFileError extends Error {}

/**
 * Why `shown` could not be read, for a message: a ProjectFileError's own words, else the system's
 * error code only (its message would name a path of the host).
 */
export function unreadable(error: unknown, shown: string): string {
  if (error instanceof ProjectFileError) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return `${shown} could not be read (${code ?? 'error'}): check its permissions`;
}

export interface ProjectFiles {
  /** How messages name `relative` (a `/`-separated path inside the root). */
  shown(relative: string): string;
  /** The text of `relative`, or null when there is no such file; a ProjectFileError when it may not be read. */
  read(relative: string, maxBytes: number): Promise<string | null>;
  /** The names of the files (and links) directly in directory `relative`; none when it is absent. At most `max`. */
  list(relative: string, max: number): Promise<string[]>;
}

/** `relative` made canonical, or null when it leaves the root (`..`, absolute). */
export function insideRoot(relative: string): string | null {
  const normal = path.posix.normalize(relative.replaceAll('\\', '/'));
  if (normal === '.' || normal === '..' || normal.startsWith('../') || path.posix.isAbsolute(normal)) return null;
  return normal;
}

const tooLarge = (shown: string, maxBytes: number): ProjectFileError =>
  new ProjectFileError(`${shown} is over ${Math.round(maxBytes / 1024)} KB, the most Foreman reads of it: shorten it (or split it)`);

/** The files under a directory of this host: a repository's working tree, or the user's home. */
export function directoryFiles(root: string, shownPrefix: string, rootName: string): ProjectFiles {
  const shown = (relative: string): string => `${shownPrefix}${relative}`;
  return {
    shown,
    async read(relative, maxBytes) {
      const file = await confinedPath(path.join(root, relative), root);
      if (file === null) return null;
      if (file === false) {
        throw new ProjectFileError(`${shown(relative)} is a link that leads outside ${rootName}: Foreman reads only files of ${rootName}; replace the link with the file itself`);
      }
      const read = await readBoundedFile(file, maxBytes);
      if (read === 'missing') return null;
      if (read === 'not-regular') throw new ProjectFileError(`${shown(relative)} is not a regular file (a FIFO, socket or device): make it a Markdown file`);
      if (read === 'too-large') throw tooLarge(shown(relative), maxBytes);
      return read.text;
    },
    async list(relative, max) {
      try {
        const entries = await readdir(path.join(root, relative), { withFileTypes: true });
        return entries.filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name).sort().slice(0, max);
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    },
  };
}

/** The files of one commit of a (bare) clone: the App reads the default branch's. */
export function commitFiles(gitDir: string, sha: string): ProjectFiles {
  const shown = (relative: string): string => relative;
  return {
    shown,
    async read(relative, maxBytes) {
      // `-l` adds each blob's size, so an oversized file is refused before it is read.
      const listed = await runGit(gitDir, ['ls-tree', '-z', '-l', sha, '--', relative]);
      const match = /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t/.exec(listed.exitCode === 0 ? listed.stdout : '');
      if (!match || match[2] !== 'blob') return null;
      if (match[1] === '120000') {
        throw new ProjectFileError(`${relative} is a symbolic link: runs from GitHub read it from the default branch only as a regular file; commit the file itself`);
      }
      if (Number(match[4]) > maxBytes) throw tooLarge(relative, maxBytes);
      return git(gitDir, ['cat-file', 'blob', match[3]]);
    },
    async list(relative, max) {
      const listing = await git(gitDir, ['ls-tree', '-z', `${sha}:${relative}`]).catch((error: unknown) => {
        if (error instanceof GitError) return '';
        throw error;
      });
      const names: string[] = [];
      for (const entry of listing.split('\0')) {
        const match = /^\d+ blob [0-9a-f]+\t(.+)$/s.exec(entry);
        if (match) names.push(match[1]);
      }
      return names.sort().slice(0, max);
    },
  };
}
