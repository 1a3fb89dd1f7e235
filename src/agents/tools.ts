// Read-only tools for agents, confined to the agent's root directory (a git checkout or
// worktree). Anything the model gets wrong — a bad path, an escape attempt, a bad regex — comes
// back as a tool error the model can read and correct; nothing here throws at the agent loop.

import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type Anthropic from '@anthropic-ai/sdk';

export interface ToolResult {
  output: string;
  isError: boolean;
}

/** Output cap per tool call, in characters (about 25k tokens). */
export const MAX_TOOL_OUTPUT = 100_000;
export const MAX_LIST_ENTRIES = 2_000;
export const DEFAULT_READ_LINES = 2_000;
const MAX_LINE_CHARS = 2_000;
const MAX_SEARCH_LINE_CHARS = 500;
const SEARCH_TIMEOUT_MS = 30_000;
const BINARY_SNIFF_BYTES = 8_192;

export const READ_TOOLS: readonly Anthropic.Tool[] = [
  {
    name: 'list_files',
    description:
      'List files under a directory of the repository, recursively (shallow files first), skipping .git. ' +
      `Paths in the output are relative to the repository root. At most ${MAX_LIST_ENTRIES} entries; narrow with path or glob when truncated.`,
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'Directory relative to the repository root. Default: the root.' },
        glob: {
          type: 'string',
          description:
            'Only files matching this glob, relative to `path`, e.g. "src/**/*.ts". A glob without "/" matches file names at any depth, e.g. "*.md".',
        },
      },
    },
  },
  {
    name: 'read_file',
    description:
      'Read a text file of the repository. Output lines are prefixed with their line number and a tab. ' +
      `Reads ${DEFAULT_READ_LINES} lines from \`offset\` unless \`limit\` says otherwise; output is capped at about 100 KB and says how to continue.`,
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'File path relative to the repository root.' },
        offset: { type: 'integer', minimum: 1, description: 'First line to read, 1-based. Default 1.' },
        limit: { type: 'integer', minimum: 1, description: `Number of lines to read. Default ${DEFAULT_READ_LINES}.` },
      },
      required: ['path'],
    },
  },
  {
    name: 'search',
    description:
      'Search file contents with git grep (POSIX extended regular expressions: use [0-9] rather than \\d). ' +
      'Prints matching lines as path:line:text, paths relative to the repository root; binary files are skipped.',
    input_schema: {
      type: 'object',
      properties: {
        pattern: { type: 'string', description: 'Extended regular expression, e.g. "fetch\\(|axios\\.".' },
        path: { type: 'string', description: 'Directory or file to search, relative to the repository root. Default: the root.' },
        glob: {
          type: 'string',
          description: 'Only files matching this glob, relative to `path`, e.g. "*.ts" (any depth) or "lib/**/*.js".',
        },
      },
      required: ['pattern'],
    },
  },
];

/** Runs one read tool in `root`. Never throws: failures are tool errors for the model. */
export async function executeTool(name: string, input: unknown, root: string): Promise<ToolResult> {
  try {
    const args = asObject(input);
    switch (name) {
      case 'list_files':
        return ok(await listFiles(args, root));
      case 'read_file':
        return ok(await readFile(args, root));
      case 'search':
        return ok(await search(args, root));
      default:
        return fail(`unknown tool "${name}"; available tools: ${READ_TOOLS.map((t) => t.name).join(', ')}`);
    }
  } catch (error) {
    if (error instanceof ToolError) return fail(error.message);
    return fail(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A mistake the model made; its message is written for the model. */
class ToolError extends Error {}

const ok = (output: string): ToolResult => ({ output, isError: false });
const fail = (output: string): ToolResult => ({ output, isError: true });

// ---- confinement ---------------------------------------------------------------------------

interface ResolvedPath {
  /** Real path on disk (symlinks resolved), inside the root. */
  absolute: string;
  /** The requested path, normalised and relative to the root; '' for the root itself. */
  relative: string;
}

async function resolveInRoot(root: string, requested: string | undefined): Promise<ResolvedPath> {
  const realRoot = await realpath(root);
  if (requested === undefined || requested === '' || requested === '.') return { absolute: realRoot, relative: '' };
  if (requested.includes('\0')) throw new ToolError('path contains a NUL character');
  if (path.isAbsolute(requested) || path.win32.isAbsolute(requested)) {
    throw new ToolError(`"${requested}" is an absolute path; use a path relative to the repository root`);
  }
  const lexical = path.resolve(realRoot, requested);
  if (!isInside(realRoot, lexical)) {
    throw new ToolError(`"${requested}" is outside the repository root; ".." may not leave it`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ToolError(`no such file or directory: "${requested}"`);
    throw error;
  }
  if (!isInside(realRoot, real)) {
    throw new ToolError(`"${requested}" is a symbolic link that leads outside the repository root`);
  }
  const relative = path.relative(realRoot, lexical);
  // .git holds config with remote URLs (sometimes with tokens) and hooks: not the agent's business.
  if (hasGitSegment(relative) || hasGitSegment(path.relative(realRoot, real))) {
    throw new ToolError(`"${requested}" is inside .git, which agents may not read`);
  }
  return { absolute: real, relative };
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

const hasGitSegment = (relative: string): boolean => relative.split(path.sep).includes('.git');

const toPosix = (p: string): string => p.split(path.sep).join('/');

// ---- list_files ----------------------------------------------------------------------------

async function listFiles(args: Record<string, unknown>, root: string): Promise<string> {
  const requested = optionalString(args, 'path');
  const glob = optionalString(args, 'glob');
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
        } else if (matches(relativeToBase)) {
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
  if (glob.includes('/')) return (p) => path.posix.matchesGlob(p, glob);
  return (p) => path.posix.matchesGlob(p.slice(p.lastIndexOf('/') + 1), glob);
}

// ---- read_file -----------------------------------------------------------------------------

async function readFile(args: Record<string, unknown>, root: string): Promise<string> {
  const requested = requiredString(args, 'path');
  const offset = optionalPositiveInteger(args, 'offset') ?? 1;
  const limit = optionalPositiveInteger(args, 'limit') ?? DEFAULT_READ_LINES;
  const file = await resolveInRoot(root, requested);

  const info = await stat(file.absolute);
  if (info.isDirectory()) throw new ToolError(`"${requested}" is a directory; use list_files`);
  if (!info.isFile()) throw new ToolError(`"${requested}" is not a regular file`);
  if (info.size === 0) return '(empty file)';
  if (await looksBinary(file.absolute)) throw new ToolError(`"${requested}" is a binary file`);

  const stream = createReadStream(file.absolute, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const out: string[] = [];
  let size = 0;
  let lineNo = 0;
  let note = '';
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (lineNo < offset) continue;
      if (lineNo >= offset + limit) {
        note = `[more lines follow; continue with offset=${lineNo}]`;
        break;
      }
      const shown = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… [line truncated]` : line;
      const numbered = `${String(lineNo).padStart(6)}\t${shown}`;
      if (size + numbered.length + 1 > MAX_TOOL_OUTPUT) {
        note = `[output capped at ${MAX_TOOL_OUTPUT / 1000} KB; continue with offset=${lineNo}]`;
        break;
      }
      out.push(numbered);
      size += numbered.length + 1;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  if (out.length === 0 && !note) {
    return `(the file has ${lineNo} line${lineNo === 1 ? '' : 's'}; offset ${offset} is past the end)`;
  }
  return note ? `${out.join('\n')}\n${note}` : out.join('\n');
}

async function looksBinary(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(BINARY_SNIFF_BYTES), 0, BINARY_SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead).includes(0);
  } finally {
    await handle.close();
  }
}

// ---- search --------------------------------------------------------------------------------

async function search(args: Record<string, unknown>, root: string): Promise<string> {
  const pattern = requiredString(args, 'pattern');
  if (pattern === '') throw new ToolError('pattern must not be empty');
  const glob = optionalString(args, 'glob');
  const scope = await resolveInRoot(root, optionalString(args, 'path'));
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
  const { stdout, exitCode, stderr, overflowed, timedOut } = await runGit(gitArgs, root);
  if (timedOut) throw new ToolError(`search timed out after ${SEARCH_TIMEOUT_MS / 1000} s; narrow it with path or glob`);
  if (exitCode === 1 && stdout === '') return 'No matches.';
  if (exitCode !== 0 && !overflowed) {
    throw new ToolError(`search failed: ${stderr.trim() || `git grep exited with ${exitCode}`}`);
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

interface GitRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Output exceeded the buffer; stdout holds what was read. */
  overflowed: boolean;
  timedOut: boolean;
}

function runGit(args: string[], cwd: string): Promise<GitRun> {
  return new Promise((resolve) => {
    // execFile, never a shell: the pattern comes from the model.
    execFile(
      'git',
      args,
      { cwd, timeout: SEARCH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr, exitCode: 0, overflowed: false, timedOut: false });
        const failure = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
        const overflowed = failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        const timedOut = !overflowed && failure.killed === true;
        const exitCode = typeof failure.code === 'number' ? failure.code : null;
        if (failure.code === 'ENOENT') return resolve({ stdout: '', stderr: 'git is not installed', exitCode, overflowed, timedOut });
        resolve({ stdout, stderr, exitCode, overflowed, timedOut });
      },
    );
  });
}

// ---- input checks --------------------------------------------------------------------------

function asObject(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ToolError('tool input must be a JSON object');
  return input as Record<string, unknown>;
}

function optionalString(args: Record<string, unknown>, key: string): string | undefined {
  const value = args[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ToolError(`"${key}" must be a string`);
  return value;
}

function requiredString(args: Record<string, unknown>, key: string): string {
  const value = optionalString(args, key);
  if (value === undefined) throw new ToolError(`"${key}" is required`);
  return value;
}

function optionalPositiveInteger(args: Record<string, unknown>, key: string): number | undefined {
  const value = args[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ToolError(`"${key}" must be a positive integer`);
  }
  return value;
}

function capOutput(text: string, note: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text + note;
  const cut = text.lastIndexOf('\n', MAX_TOOL_OUTPUT);
  return `${text.slice(0, cut > 0 ? cut : MAX_TOOL_OUTPUT)}\n[output capped at ${MAX_TOOL_OUTPUT / 1000} KB; narrow it with path or glob]${note}`;
}
