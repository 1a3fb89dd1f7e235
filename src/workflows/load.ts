// Finds workflow scripts: a path given by the user, or a name looked up in the repository, then
// the user's own workflows, then the ones built into Foreman (the same order Claude Code uses
// for project over personal settings).

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { validateScript } from './validate.ts';

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

  constructor(ref: string, available: string[]) {
    const known =
      available.length > 0
        ? `Available workflows: ${available.join(', ')}.`
        : 'There are no saved workflows yet; save one in the repository as .claude/workflows/<name>.js.';
    // `foreman run` turns free text into a script; workflow() inside a script only takes names.
    const what = /\s/.test(ref.trim())
      ? `"${ref}" is not a workflow name or a path.js: workflow() runs saved and built-in workflows by name.`
      : `Workflow "${ref}" not found.`;
    // Each front door adds where to see them with their descriptions (`foreman list`, `/workflow list`).
    super(`${what} ${known}`);
    this.name = 'WorkflowNotFoundError';
    this.ref = ref;
    this.available = available;
  }
}

const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function workflowDirs(repoDir: string, homeDir: string, builtinDir: string): WorkflowDirs {
  return {
    repoDir: path.join(repoDir, '.claude', 'workflows'),
    userDir: path.join(homeDir, '.claude', 'workflows'),
    builtinDir,
  };
}

function searchOrder(dirs: WorkflowDirs): Array<{ origin: WorkflowOrigin; dir: string }> {
  return [
    { origin: 'repo', dir: dirs.repoDir },
    { origin: 'user', dir: dirs.userDir },
    { origin: 'builtin', dir: dirs.builtinDir },
  ];
}

/**
 * A path ref must name an existing file. A name that matches nothing returns null, like text that
 * is not a name at all: the caller may treat it as a free-text request.
 */
export async function resolveWorkflow(ref: string, dirs: WorkflowDirs): Promise<WorkflowSource | null> {
  if (ref.endsWith('.js') || ref.includes('/') || ref.includes(path.sep)) {
    const file = path.resolve(ref);
    const source = await readIfPresent(file);
    if (source === null) throw new WorkflowNotFoundError(file, await availableNames(dirs));
    return { name: path.basename(file, '.js'), file, source, origin: 'path' };
  }
  if (!WORKFLOW_NAME.test(ref)) return null;
  for (const { origin, dir } of searchOrder(dirs)) {
    const file = path.join(dir, `${ref}.js`);
    const source = await readIfPresent(file);
    if (source !== null) return { name: ref, file, source, origin };
  }
  return null;
}

export async function listWorkflows(dirs: WorkflowDirs): Promise<WorkflowListing[]> {
  return Promise.all(
    (await discoverScripts(dirs)).map(async (script): Promise<WorkflowListing> => {
      if (!WORKFLOW_NAME.test(script.name)) {
        return {
          ...script,
          error: `"${script.name}" cannot be run by name; rename the file to match ${WORKFLOW_NAME} (letters, digits, '.', '_', '-')`,
        };
      }
      try {
        const { meta } = validateScript(await readFile(script.file, 'utf8'), script.file);
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

/** Every *.js script by name, each from the first directory in search order that has it. */
async function discoverScripts(dirs: WorkflowDirs): Promise<Array<{ name: string; origin: WorkflowOrigin; file: string }>> {
  const byName = new Map<string, { name: string; origin: WorkflowOrigin; file: string }>();
  for (const { origin, dir } of searchOrder(dirs)) {
    for (const fileName of await scriptFileNames(dir)) {
      const name = fileName.slice(0, -'.js'.length);
      if (!byName.has(name)) byName.set(name, { name, origin, file: path.join(dir, fileName) });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function scriptFileNames(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((entry) => entry.name.endsWith('.js') && (entry.isFile() || entry.isSymbolicLink()))
      .map((entry) => entry.name);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
