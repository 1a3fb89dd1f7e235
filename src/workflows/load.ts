// Finds workflow scripts: a path given by the user, or a name looked up in the repository (the
// closest .claude/workflows/ up from where the command ran, then the root's), then the user's own
// workflows, then the ones built into Foreman (the same order Claude Code uses for project over
// personal settings). A name is a script's meta.name, as in Claude Code, or its file name.

import { opendir } from 'node:fs/promises';
import path from 'node:path';
import { confinedPath, isMissing, readBoundedFile } from '../workspace/bounded-read.ts';
import { MAX_SCRIPT_CHARS, validateScript } from './validate.ts';
import { metaNameOf } from './meta-name.ts';

export type WorkflowOrigin = 'path' | 'repo' | 'user' | 'builtin';

export interface WorkflowSource {
  name: string;
  file: string;
  source: string;
  origin: WorkflowOrigin;
}

export interface WorkflowDirs {
  /** The repository's workflows directory, <repo>/.claude/workflows. */
  repoDir: string;
  /**
   * The .claude/workflows directories between where the command ran and the repository's root,
   * closest first: searched before repoDir, as Claude Code does in a monorepo.
   */
  nearerDirs?: string[];
  /** The user's workflows directory, e.g. ~/.claude/workflows. */
  userDir: string;
  /** This project's workflows/ directory. */
  builtinDir: string;
}

export interface WorkflowListing {
  name: string;
  origin: WorkflowOrigin;
  file: string;
  description?: string;
  whenToUse?: string;
  error?: string;
}

export class WorkflowNotFoundError extends Error {
  readonly ref: string;
  readonly available: string[];

  constructor(ref: string, available: string[], why?: string) {
    const known =
      available.length > 0
        ? `Available workflows: ${available.join(', ')}.`
        : 'There are no saved workflows yet; save one in the repository as .claude/workflows/<name>.js.';
    // `foreman run` turns free text into a script; workflow() inside a script only takes names.
    // The reference is echoed as given, never resolved: a script or a commenter learns no host path.
    const shown = JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref);
    const what =
      why ??
      (looksLikePath(ref)
        ? `${shown} is a file path: workflow() and /workflow run saved workflows (.claude/workflows/<name>.js) and built-in ones by name, never a file elsewhere.`
        : /\s/.test(ref.trim())
          ? `${shown} is not a workflow name or a path.js: workflow() runs saved and built-in workflows by name.`
          : `Workflow ${shown} not found.`);
    // Each front door adds where to see them with their descriptions (`foreman list`, `/workflow list`).
    super(`${what} ${known}`);
    this.name = 'WorkflowNotFoundError';
    this.ref = ref;
    this.available = available;
  }
}

const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The most bytes read of a workflow file: a script of MAX_SCRIPT_CHARS characters in UTF-8 at most.
 * One more byte is read, to tell a larger file from one of exactly this size.
 */
const MAX_SCRIPT_BYTES = 4 * MAX_SCRIPT_CHARS;

/** Who gave the reference: only the CLI's own command line may name a file by its path. */
export interface WorkflowAccess {
  /** The user typed the reference on `foreman run`: a file path they name may be opened. */
  typedPath?: boolean;
}

/** A file a reference may open, and how to name it in a message without showing a host path. */
interface Candidate {
  name: string;
  origin: WorkflowOrigin;
  file: string;
  shown: string;
  /** The directory a repository's file must stay in, symbolic links resolved. */
  confinedTo?: string;
}

const looksLikePath = (ref: string): boolean => ref.endsWith('.js') || ref.includes('/') || ref.includes(path.sep);

/**
 * Where names are looked up. `from` (the CLI's current directory, or --repo) is a directory inside
 * the repository: each .claude/workflows from there up to the root is searched, the closest first.
 */
export function workflowDirs(repoDir: string, homeDir: string, builtinDir: string, from?: string): WorkflowDirs {
  const dirs: WorkflowDirs = {
    repoDir: path.join(repoDir, '.claude', 'workflows'),
    userDir: path.join(homeDir, '.claude', 'workflows'),
    builtinDir,
  };
  const nearer = from === undefined ? [] : dirsBetween(path.resolve(from), path.resolve(repoDir));
  if (nearer.length > 0) dirs.nearerDirs = nearer;
  return dirs;
}

/** <dir>/.claude/workflows for `start` and each parent below `root`, closest first; none outside root. */
function dirsBetween(start: string, root: string): string[] {
  const relative = path.relative(root, start);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return [];
  const dirs: string[] = [];
  for (let dir = start; dir !== root && dir.startsWith(root); dir = path.dirname(dir)) dirs.push(path.join(dir, '.claude', 'workflows'));
  return dirs;
}

function searchOrder(dirs: WorkflowDirs): Array<{ origin: WorkflowOrigin; dir: string }> {
  return [
    ...(dirs.nearerDirs ?? []).map((dir) => ({ origin: 'repo' as const, dir })),
    { origin: 'repo', dir: dirs.repoDir },
    { origin: 'user', dir: dirs.userDir },
    { origin: 'builtin', dir: dirs.builtinDir },
  ];
}

/**
 * The one decision of what a workflow reference may open, made before anything is read: a saved
 * workflow's or a built-in's file by name, in search order; a file by its path only when the user
 * typed it (`access.typedPath`). Anything else opens nothing.
 */
async function* workflowCandidates(ref: string, dirs: WorkflowDirs, access: WorkflowAccess): AsyncGenerator<Candidate> {
  if (looksLikePath(ref)) {
    if (!access.typedPath) return;
    const file = path.resolve(ref);
    yield { name: path.basename(file, '.js'), origin: 'path', file, shown: file };
    return;
  }
  if (!WORKFLOW_NAME.test(ref)) return;
  // In each directory, closest first: the script whose meta.name it is, then the file of that name.
  for (const { origin, dir } of searchOrder(dirs)) {
    const named = (await scriptsIn(origin, dir, dirs)).find((script) => script.metaName === ref && script.fileName !== `${ref}.js`);
    if (named) yield { ...candidateIn(origin, dir, named.fileName, dirs), name: ref };
    yield candidateIn(origin, dir, `${ref}.js`, dirs);
  }
}

/** The repository's root: where its saved workflows must stay, links resolved. */
const repositoryOf = (dirs: WorkflowDirs): string => path.dirname(path.dirname(dirs.repoDir));

function candidateIn(origin: WorkflowOrigin, dir: string, fileName: string, dirs: WorkflowDirs): Candidate {
  const name = fileName.slice(0, -'.js'.length);
  const file = path.join(dir, fileName);
  if (origin === 'repo') {
    // A repository's saved workflow may be a link within it, never to a file of the host.
    const root = repositoryOf(dirs);
    return { name, origin, file, shown: path.relative(root, file).split(path.sep).join('/'), confinedTo: root };
  }
  return { name, origin, file, shown: origin === 'user' ? `~/.claude/workflows/${fileName}` : `the built-in workflow ${name}` };
}

/**
 * A typed path must name an existing file. A name that matches nothing returns null, like text
 * that is not a name at all or a path nobody typed: the caller may treat it as a free-text request,
 * or say it is not found (WorkflowNotFoundError explains a path).
 */
export async function resolveWorkflow(ref: string, dirs: WorkflowDirs, access: WorkflowAccess = {}): Promise<WorkflowSource | null> {
  for await (const candidate of workflowCandidates(ref, dirs, access)) {
    let source: string | null;
    try {
      source = await readCandidate(candidate);
    } catch (error) {
      if (error instanceof WorkflowFileError) throw new WorkflowNotFoundError(ref, await availableNames(dirs), `${error.message}.`);
      throw error;
    }
    if (source !== null) return { name: candidate.name, file: candidate.file, source, origin: candidate.origin };
    if (candidate.origin === 'path') {
      throw new WorkflowNotFoundError(candidate.file, await availableNames(dirs), `Workflow ${JSON.stringify(candidate.file)} not found.`);
    }
  }
  return null;
}

/**
 * `workflow({ scriptPath })`: a script file of the repository, its path relative to the repository's
 * root (Claude Code resolves it from the session's directory, the project's root). Read as a saved
 * workflow is: inside the repository (links resolved), a regular file, at most the script cap.
 * Throws a message that echoes the path as the script gave it, never a path of the host.
 */
export async function resolveScriptPath(scriptPath: string, repoRoot: string): Promise<WorkflowSource> {
  const shown = JSON.stringify(scriptPath.length > 200 ? `${scriptPath.slice(0, 200)}…` : scriptPath);
  const what = `workflow({ scriptPath: ${shown} })`;
  const file = path.resolve(repoRoot, scriptPath);
  const relative = path.relative(repoRoot, file);
  if (scriptPath.includes('\0') || relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new Error(`${what}: the path is outside the repository: give a script file of the repository, relative to its root (e.g. .claude/workflows/step.js)`);
  }
  let source: string | null;
  try {
    source = await readCandidate({ name: path.basename(file, '.js'), origin: 'repo', file, shown, confinedTo: repoRoot });
  } catch (error) {
    if (error instanceof WorkflowFileError) throw new Error(`${what}: ${error.message}`);
    throw error;
  }
  if (source === null) throw new Error(`${what}: no such file in the repository: paths are relative to the repository's root`);
  return { name: path.basename(file, '.js'), file, source, origin: 'repo' };
}

export async function listWorkflows(dirs: WorkflowDirs): Promise<WorkflowListing[]> {
  return Promise.all(
    (await discoverScripts(dirs)).map(async (script): Promise<WorkflowListing> => {
      if (!WORKFLOW_NAME.test(script.name)) {
        return {
          ...script,
          error: `"${script.name}" cannot be run by name; change its meta.name to match ${WORKFLOW_NAME} (letters, digits, '.', '_', '-')`,
        };
      }
      try {
        const source = await readCandidate(candidateIn(script.origin, path.dirname(script.file), path.basename(script.file), dirs));
        if (source === null) throw new Error(`${script.file} is gone`);
        const { meta } = validateScript(source, script.file);
        const listing: WorkflowListing = { ...script, description: meta.description };
        if (meta.whenToUse !== undefined) listing.whenToUse = meta.whenToUse;
        return listing;
      } catch (error) {
        return { ...script, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** Names that `foreman run <name>` would find, without validating the scripts. */
export async function availableNames(dirs: WorkflowDirs): Promise<string[]> {
  return (await discoverScripts(dirs)).map(({ name }) => name).filter((name) => WORKFLOW_NAME.test(name));
}

/**
 * Every script by name (its meta.name, else its file name), each from the first directory in
 * search order that has it.
 */
async function discoverScripts(dirs: WorkflowDirs): Promise<Array<{ name: string; origin: WorkflowOrigin; file: string }>> {
  const byName = new Map<string, { name: string; origin: WorkflowOrigin; file: string }>();
  for (const { origin, dir } of searchOrder(dirs)) {
    for (const { fileName, metaName } of await scriptsIn(origin, dir, dirs)) {
      const name = metaName ?? fileName.slice(0, -'.js'.length);
      if (!byName.has(name)) byName.set(name, { name, origin, file: path.join(dir, fileName) });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A hostile repository may hold thousands of files in a workflows directory: at most this many of
 * its entries are read, and of its .js files (in name order) at most MAX_SCANNED_SCRIPTS have their
 * meta.name read, from their first MAX_META_BYTES. A file past these still runs by its file name.
 */
const MAX_DIR_ENTRIES = 2_000;
const MAX_SCANNED_SCRIPTS = 200;
const MAX_META_BYTES = 16 * 1024;

/** The directory's .js files and the meta.name each declares (null when it cannot be read cheaply). */
async function scriptsIn(origin: WorkflowOrigin, dir: string, dirs: WorkflowDirs): Promise<Array<{ fileName: string; metaName: string | null }>> {
  const fileNames = (await scriptFileNames(dir)).slice(0, MAX_SCANNED_SCRIPTS);
  return Promise.all(
    fileNames.map(async (fileName) => {
      let head: string | null = null;
      try {
        head = await readCandidate(candidateIn(origin, dir, fileName, dirs), MAX_META_BYTES);
      } catch {
        // A link out of the repository, a FIFO: not a workflow, and resolving it by name says why.
      }
      return { fileName, metaName: head === null ? null : metaNameOf(head) };
    }),
  );
}

async function scriptFileNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    let seen = 0;
    for await (const entry of await opendir(dir)) {
      if (++seen > MAX_DIR_ENTRIES) break;
      if (entry.name.endsWith('.js') && (entry.isFile() || entry.isSymbolicLink())) names.push(entry.name);
    }
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  return names.sort();
}

/**
 * A script file the user named on the command line (`foreman validate <file>`), read the way a
 * typed workflow path is: a regular file only, at most the script cap. Throws with what is wrong.
 */
export async function readScriptFile(file: string): Promise<string> {
  const resolved = path.resolve(file);
  const source = await readCandidate({ name: path.basename(resolved, '.js'), origin: 'path', file: resolved, shown: file });
  if (source === null) throw new WorkflowFileError(`${file} does not exist or is a directory`);
  return source;
}

/**
 * The candidate's text, or null when it is not there (bounded-read.ts: a regular file only, at most
 * the script cap); with `headBytes`, only that much of its beginning, to read its meta.name.
 */
async function readCandidate(candidate: Candidate, headBytes?: number): Promise<string | null> {
  let file = candidate.file;
  if (candidate.confinedTo !== undefined) {
    const inside = await confinedPath(file, candidate.confinedTo);
    if (inside === null) return null;
    if (inside === false) throw new WorkflowFileError(`${candidate.shown} links outside the repository: a saved workflow must be a file of the repository`);
    file = inside;
  }
  const read = await readBoundedFile(file, headBytes ?? MAX_SCRIPT_BYTES, { head: headBytes !== undefined });
  if (read === 'missing') return null;
  if (read === 'not-regular') throw new WorkflowFileError(`${candidate.shown} is not a regular file (a FIFO, socket or device): a workflow is a .js file`);
  if (read === 'too-large') {
    throw new WorkflowFileError(`${candidate.shown} is over ${MAX_SCRIPT_BYTES / 1024} KB; workflow scripts may be at most ${MAX_SCRIPT_CHARS / 1024} KB`);
  }
  return read.text;
}

/** A workflow file that is there but may not be read as one; resolveWorkflow says so as not found. */
class WorkflowFileError extends Error {}
