// Project memory, as Claude Code loads it: the CLAUDE.md files (and .claude/CLAUDE.md) from the
// repository's root down to the directory the run works in, after the user's ~/.claude/CLAUDE.md
// (CLI only), each followed by the files it imports with `@path`, recursively up to five hops.
// Every agent of the run gets the same text inside its cached system prefix.

import path from 'node:path';
import { insideRoot, unreadable, type ProjectFiles } from './project-files.ts';

/** The most of one memory file Foreman reads. */
export const MAX_MEMORY_FILE_BYTES = 64 * 1024;
/** The most memory all files together add to every agent's prompt. */
export const MAX_MEMORY_BYTES = 128 * 1024;
/** Claude Code's limit on `@path` imports: a file five hops from a CLAUDE.md imports nothing more. */
export const MAX_IMPORT_DEPTH = 5;
/** Files looked at for one run's memory, imports included: each is a read (a git process in the App). */
export const MAX_MEMORY_FILES = 64;

export interface MemorySources {
  project: ProjectFiles;
  /** Directories inside the repository, the root ('') first and the run's directory last. */
  projectDirs: readonly string[];
  /** The user's home, for ~/.claude/CLAUDE.md: the CLI's only. */
  user?: ProjectFiles;
}

export interface ProjectMemory {
  /** The text every agent's system prompt carries. */
  text: string;
  /** The files it holds, as messages name them. */
  files: string[];
}

export interface LoadedMemory {
  memory: ProjectMemory | null;
  /** Files left out, each with why and the fix: the run's warnings. */
  warnings: string[];
}

interface Loaded {
  shown: string;
  why: string;
  text: string;
}

/** Collects the files in order, each once, within the caps; what is left out becomes a warning. */
class MemoryCollector {
  readonly files: Loaded[] = [];
  readonly warnings: string[] = [];
  readonly #seen = new Set<string>();
  #bytes = 0;

  async add(files: ProjectFiles, scope: 'project' | 'user', relative: string, why: string, depth: number): Promise<void> {
    const shown = files.shown(relative);
    if (this.#seen.has(shown)) return; // cycles, and a file imported twice
    if (this.#seen.size >= MAX_MEMORY_FILES) {
      if (this.#seen.size === MAX_MEMORY_FILES) this.warnings.push(`project memory: left out ${shown} and every later import: the CLAUDE.md files may name at most ${MAX_MEMORY_FILES} files in all`);
      this.#seen.add(shown);
      return;
    }
    this.#seen.add(shown);
    let text: string | null;
    try {
      text = await files.read(relative, MAX_MEMORY_FILE_BYTES);
    } catch (error) {
      this.warnings.push(`project memory: left out ${unreadable(error, shown)}`);
      return;
    }
    if (text === null) return; // an `@name` that names no file is not an import
    const size = Buffer.byteLength(text);
    if (this.#bytes + size > MAX_MEMORY_BYTES) {
      this.warnings.push(`project memory: left out ${shown}: the CLAUDE.md files and their imports may add at most ${MAX_MEMORY_BYTES / 1024} KB to every agent's prompt; make them shorter`);
      return;
    }
    this.#bytes += size;
    this.files.push({ shown, why, text });
    if (depth >= MAX_IMPORT_DEPTH) return;
    for (const target of importsOf(text)) {
      const resolved = this.#importTarget(target, relative, scope, shown);
      if (resolved !== null) await this.add(files, scope, resolved, `imported by ${shown}`, depth + 1);
    }
  }

  /** An import's path inside the file's own root, or null (with a warning when it reaches outside). */
  #importTarget(target: string, from: string, scope: 'project' | 'user', shown: string): string | null {
    let joined: string;
    if (target.startsWith('~/')) {
      if (scope === 'project') {
        this.warnings.push(`project memory: ${shown} imports @${target}, and a repository's file may not make Foreman read the home directory; copy what it needs into the repository`);
        return null;
      }
      joined = target.slice(2);
    } else if (path.posix.isAbsolute(target)) {
      this.warnings.push(`project memory: ${shown} imports @${target}, an absolute path; imports are read only from ${scope === 'project' ? 'the repository' : 'the home directory'}: make it relative`);
      return null;
    } else {
      joined = path.posix.join(path.posix.dirname(from), target);
    }
    // The repository's git directory holds its config (remote URLs with tokens), which agents may not read either.
    if (joined.split('/').some((part) => part.toLowerCase() === '.git')) {
      this.warnings.push(`project memory: ${shown} imports @${target}, inside .git, which agents may not read; imports are read from the working tree only`);
      return null;
    }
    const inside = insideRoot(joined);
    if (inside === null) this.warnings.push(`project memory: ${shown} imports @${target}, outside ${scope === 'project' ? 'the repository' : 'the home directory'}; imports are read only from there`);
    return inside;
  }
}

export async function loadProjectMemory(sources: MemorySources): Promise<LoadedMemory> {
  const collector = new MemoryCollector();
  if (sources.user) await collector.add(sources.user, 'user', '.claude/CLAUDE.md', "the user's instructions for all projects", 0);
  for (const dir of sources.projectDirs) {
    for (const name of ['CLAUDE.md', '.claude/CLAUDE.md']) {
      await collector.add(sources.project, 'project', dir === '' ? name : `${dir}/${name}`, 'project instructions, checked into the repository', 0);
    }
  }
  const { files, warnings } = collector;
  if (files.length === 0) return { memory: null, warnings };
  const text = [
    "The project's memory follows: the CLAUDE.md files of this repository and the files they import. They hold its conventions and commands; follow them where they apply to your task. What this prompt says above about your answer still holds.",
    ...files.map((file) => `Contents of ${file.shown} (${file.why}):\n\n${file.text.trim()}`),
  ].join('\n\n');
  return { memory: { text, files: files.map((file) => file.shown) }, warnings };
}

/**
 * The `@path` imports of a Markdown text, in order. As in Claude Code, an `@` starts an import only
 * at the start of a line or after a space, and never inside a code span or a fenced block; a space
 * in a path is written `\ `, and punctuation that ends a sentence is not part of the path.
 */
export function importsOf(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?(?:^\1[^\n]*$|(?![\s\S]))/gm, '').replace(/(`+)[^`]*?\1/g, '');
  const found: string[] = [];
  for (const match of prose.matchAll(/(?:^|\s)@((?:[^\s\\]|\\ )+)/g)) {
    // "See @README.md." ends a sentence, not the file's name.
    const target = match[1].replaceAll('\\ ', ' ').replace(/[.,;:!?)]+$/, '');
    if (target !== '') found.push(target);
  }
  return found;
}
