// The agents' tools, confined to the agent's root directory (a git checkout or worktree): read
// tools for every agent; edit_file, write_file and run_command for write agents only. Anything the
// model gets wrong — a bad path, an escape attempt, a bad regex, a command it may not run — comes
// back as a tool error the model can read and correct; nothing here throws at the agent loop.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile as fsReadFile, realpath, rename, rm, stat, writeFile as fsWriteFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';
import { CONFIG_DEFAULTS } from '../config/schema.ts';
import { cleanEnvironment, CommandSyntaxError, isCommandAllowed, parseCommandLine, runProcess } from '../workspace/command.ts';
import { detectSandbox, type SandboxChoice } from '../workspace/sandbox.ts';
import type { ProcessLedger } from '../workspace/process-ledger.ts';
import { gitInvocation } from '../workspace/git.ts';
import { refusedGitArgument } from './git-arguments.ts';
import { protectedReason } from '../workspace/protected-paths.ts';
import { compileGlob, GlobError } from '../workspace/glob.ts';

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
/** list_files lets the event loop turn after matching this many names, however large a directory is. */
const MATCHES_PER_TURN = 64;

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

/** Largest write_file content, or edit_file old_string/new_string, in UTF-8 bytes (1 MB). */
export const MAX_WRITE_BYTES = 1_000_000;

export const EDIT_FILE = 'edit_file';
export const WRITE_FILE = 'write_file';
export const RUN_COMMAND = 'run_command';

/** Tools of write agents only, offered after READ_TOOLS. */
export const WRITE_TOOLS: readonly Anthropic.Tool[] = [
  {
    name: EDIT_FILE,
    description:
      'Replace text in an existing file of the repository. old_string must match the file exactly (whitespace and indentation included, ' +
      'without the line-number prefixes read_file shows) and occur exactly once, unless replace_all is true; ' +
      'include enough surrounding lines to make it unique. Read the file first.',
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'File path relative to the repository root.' },
        old_string: { type: 'string', description: 'The exact text to replace.' },
        new_string: { type: 'string', description: 'The text to put in its place; must differ from old_string.' },
        replace_all: { type: 'boolean', description: 'Replace every occurrence of old_string. Default false.' },
      },
      required: ['path', 'old_string', 'new_string'],
    },
  },
  {
    name: WRITE_FILE,
    description:
      'Create a file of the repository, or replace its whole content; missing parent directories are created. ' +
      'Prefer edit_file for changing part of an existing file.',
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'File path relative to the repository root.' },
        content: { type: 'string', description: 'The complete new content of the file.' },
      },
      required: ['path', 'content'],
    },
  },
  {
    name: RUN_COMMAND,
    description:
      'Run one of the commands the repository allows (its tests, linter, type checker) in the repository root and get its exit code and output. ' +
      'One command with its arguments, e.g. "npm test": no shell, so no pipes, redirections, &&, ; or variable assignments. ' +
      'A non-zero exit code is a result to read, not a failure of the tool.',
    input_schema: {
      type: 'object',
      properties: {
        command: { type: 'string', description: 'The command line, e.g. "npx eslint src/app.ts".' },
      },
      required: ['command'],
    },
  },
];

const WRITE_TOOL_NAMES = new Set(WRITE_TOOLS.map((tool) => tool.name));

/** Tool calls that change the worktree or run code in it; the loop runs these one at a time. */
export const isMutatingTool = (name: string): boolean => WRITE_TOOL_NAMES.has(name);

/** Where and with what rights an agent's tools run. */
export interface ToolContext {
  /** The directory every path is confined to: the agent's worktree or the pristine checkout. */
  root: string;
  /** A write agent: edit_file, write_file and run_command are available. */
  write?: boolean;
  /** Patterns of the commands run_command may run (`agents.commands`); none when absent. */
  commands?: readonly string[];
  /** Timeout of one run_command; default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** The environment run_command starts from, before secrets are removed; default process.env. */
  commandEnv?: NodeJS.ProcessEnv;
  /** Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command runs. */
  commandSecrets?: readonly string[];
  /** The agent's signal: stopping the agent kills a running command. */
  signal?: AbortSignal;
  /** Where running commands are written down, so a Foreman that dies cannot orphan them. */
  processLedger?: ProcessLedger;
  /** The sandbox run_command runs in (default: detectSandbox(); unavailable → refused). */
  sandbox?: SandboxChoice;
}

/** Runs one tool for an agent. Never throws: failures are tool errors for the model. */
export async function executeTool(name: string, input: unknown, context: ToolContext): Promise<ToolResult> {
  const root = context.root;
  try {
    const args = asObject(input);
    if (WRITE_TOOL_NAMES.has(name) && !context.write) {
      throw new ToolError(`${name} is not available: this agent is read-only and may not change files or run commands. Available tools: ${toolNames(context)}`);
    }
    switch (name) {
      case 'list_files':
        return ok(await listFiles(args, root));
      case 'read_file':
        return ok(await readFile(args, root));
      case 'search':
        return ok(await search(args, root));
      case EDIT_FILE:
        return ok(await editFile(args, root));
      case WRITE_FILE:
        return ok(await writeFileTool(args, root));
      case RUN_COMMAND:
        return ok(await runCommand(args, context));
      default:
        return fail(`unknown tool "${name}"; available tools: ${toolNames(context)}`);
    }
  } catch (error) {
    if (error instanceof ToolError) return fail(error.message);
    // A file system error names the absolute path it failed on.
    return fail(`${name} failed: ${await withoutHostPaths(error instanceof Error ? error.message : String(error), root)}`);
  }
}

const toolNames = (context: ToolContext): string =>
  (context.write ? [...READ_TOOLS, ...WRITE_TOOLS] : READ_TOOLS).map((tool) => tool.name).join(', ');

/** A mistake the model made; its message is written for the model. */
class ToolError extends Error {}

const ok = (output: string): ToolResult => ({ output, isError: false });
const fail = (output: string): ToolResult => ({ output, isError: true });

// ---- confinement ---------------------------------------------------------------------------

interface ResolvedPath {
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
async function resolveInRoot(
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

const toPosix = (p: string): string => p.split(path.sep).join('/');

/**
 * Error text from outside the tools (git, the file system) as the model may see it: a path in the
 * root becomes relative to it, and any other absolute path (FOREMAN_HOME, the repository's git
 * directory) is hidden, since where Foreman keeps things on the host is none of the model's business.
 */
async function withoutHostPaths(text: string, root: string): Promise<string> {
  const roots = [...new Set([root, await realpath(root).catch(() => root)])].sort((a, b) => b.length - a.length);
  let out = text;
  for (const dir of roots) {
    const escaped = dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    out = out.replace(new RegExp(`${escaped}(?:/|(?=$|[\\s'"\`),:]))`, 'g'), (found) => (found.endsWith('/') ? '' : '.'));
  }
  return out.replace(/(?<=^|[\s'"`(=:,])\/[^\s'"`),:]*/g, '<a path outside the repository>');
}

// Checked on the requested and the resolved path (a link inside the root could point at either).
async function refuseProtected(root: string, file: ResolvedPath): Promise<void> {
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

interface GitRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Output exceeded the buffer; stdout holds what was read. */
  overflowed: boolean;
  timedOut: boolean;
}

async function runGit(args: string[], cwd: string): Promise<GitRun> {
  // Hardened like every git call of Foreman's (no hooks, filters or drivers the repository names).
  const invocation = await gitInvocation(cwd, args);
  return new Promise((resolve) => {
    // execFile, never a shell: the pattern comes from the model.
    execFile(
      'git',
      invocation.args,
      { cwd, timeout: SEARCH_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: invocation.env },
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

// ---- edit_file and write_file --------------------------------------------------------------

/** Largest file edit_file loads; past this the file is generated or data, not something to edit by hand. */
export const MAX_EDIT_FILE_BYTES = 10_000_000;

async function editFile(args: Record<string, unknown>, root: string): Promise<string> {
  const requested = requiredString(args, 'path');
  const oldString = requiredString(args, 'old_string');
  const newString = requiredString(args, 'new_string');
  const replaceAll = optionalBoolean(args, 'replace_all') ?? false;
  if (oldString === '') throw new ToolError('old_string must not be empty; to create a file or replace all of its content, use write_file');
  if (oldString === newString) {
    throw new ToolError('old_string and new_string are identical, so the edit would change nothing; put the changed text in new_string');
  }
  checkWriteSize('old_string', oldString);
  checkWriteSize('new_string', newString);

  const file = await resolveInRoot(root, requested, { allowMissing: true });
  await refuseProtected(root, file);
  if (!file.exists) throw new ToolError(`no such file: "${requested}"; to create it, use write_file`);
  const info = await existingFile(file, requested);
  if (info.size > MAX_EDIT_FILE_BYTES) {
    throw new ToolError(`"${requested}" is ${formatBytes(info.size)}; edit_file handles files up to ${formatBytes(MAX_EDIT_FILE_BYTES)}. Replace it with write_file only if you mean to rewrite all of it`);
  }
  const bytes = await fsReadFile(file.absolute);
  if (bytes.includes(0)) throw new ToolError(`"${requested}" is a binary file; edit_file only edits text`);
  let text: string;
  try {
    // fatal: re-encoding invalid UTF-8 would silently replace bytes the edit did not touch.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ToolError(`"${requested}" is not valid UTF-8 text, so edit_file cannot change it without damaging it; use write_file to replace it entirely`);
  }

  let from = oldString;
  let to = newString;
  let positions = occurrences(text, from);
  // read_file shows lines without their \r, so a multi-line old_string from the model has bare \n.
  if (positions.length === 0 && from.includes('\n') && text.includes('\r\n')) {
    const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
    from = crlf(oldString);
    to = crlf(newString);
    positions = occurrences(text, from);
  }
  if (positions.length === 0) {
    const prefixHint = /^\s*\d+\t/m.test(oldString) ? ' old_string seems to include the line-number prefixes read_file adds; leave them out.' : '';
    throw new ToolError(
      `old_string was not found in "${requested}". It must match the file exactly, whitespace and indentation included; read the file again with read_file and copy the text.${prefixHint}`,
    );
  }
  if (positions.length > 1 && !replaceAll) {
    throw new ToolError(
      `old_string occurs ${positions.length} times in "${requested}" (lines ${lineList(text, positions)}); include more surrounding lines to make it unique, or set replace_all to true to replace every occurrence`,
    );
  }

  const edited = replaceAll ? text.split(from).join(to) : text.slice(0, positions[0]) + to + text.slice(positions[0] + from.length);
  checkWriteSize('the edited file', edited, MAX_EDIT_FILE_BYTES);
  await replaceFile(file.absolute, edited, info.mode & 0o7777);
  const count = positions.length;
  const where = count === 1 ? `at line ${lineOf(text, positions[0])}` : `(lines ${lineList(text, positions)})`;
  return `Edited ${toPosix(file.relative)}: replaced ${count} occurrence${count === 1 ? '' : 's'} ${where}.`;
}

async function writeFileTool(args: Record<string, unknown>, root: string): Promise<string> {
  const requested = requiredString(args, 'path');
  const content = requiredString(args, 'content');
  checkWriteSize('content', content);
  if (/[/\\]$/.test(requested)) throw new ToolError(`"${requested}" ends with a slash; give the path of a file, not a directory`);

  const file = await resolveInRoot(root, requested, { allowMissing: true });
  await refuseProtected(root, file);
  let mode: number | undefined;
  if (file.exists) {
    mode = (await existingFile(file, requested)).mode & 0o7777;
  } else {
    await mkdir(path.dirname(file.absolute), { recursive: true });
  }
  await replaceFile(file.absolute, content, mode);
  const lines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
  return `${file.exists ? 'Overwrote' : 'Created'} ${toPosix(file.relative)} (${lines} line${lines === 1 ? '' : 's'}, ${Buffer.byteLength(content)} bytes).`;
}

async function existingFile(file: ResolvedPath, requested: string): Promise<Stats> {
  const info = await stat(file.absolute);
  if (info.isDirectory()) throw new ToolError(`"${requested}" is a directory; give the path of a file`);
  if (!info.isFile()) throw new ToolError(`"${requested}" is not a regular file, so it cannot be written`);
  return info;
}

/**
 * Writes `data` to a temporary file beside `target` and renames it over `target`: a reader (or a
 * crash) never sees half a file, and a hard link to a file outside the root is replaced rather
 * than written through. `mode` keeps an existing file's permissions (an executable script stays
 * executable); new files get the default.
 */
async function replaceFile(target: string, data: string, mode: number | undefined): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.foreman-${randomBytes(6).toString('hex')}.tmp`);
  try {
    // 'wx' never opens an existing file, so a link planted at the temporary name is not followed.
    await fsWriteFile(temp, data, { flag: 'wx' });
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

const lineOf = (text: string, index: number): number => {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
};

function lineList(text: string, positions: readonly number[]): string {
  const shown = positions.slice(0, 20).map((p) => lineOf(text, p));
  return positions.length > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
}

function checkWriteSize(what: string, value: string, limit = MAX_WRITE_BYTES): void {
  const size = Buffer.byteLength(value);
  if (size > limit) {
    throw new ToolError(
      `${what} is ${size} bytes, more than the ${formatBytes(limit)} (${limit} bytes) the write tools accept; write large files in smaller pieces, or generate them with an allowed command`,
    );
  }
}

const formatBytes = (bytes: number): string =>
  bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, '')} MB` : bytes >= 1_000 ? `${Math.round(bytes / 1_000)} KB` : `${bytes} bytes`;

// ---- run_command ---------------------------------------------------------------------------

export const DEFAULT_COMMAND_TIMEOUT_MS = CONFIG_DEFAULTS.agents.commandTimeoutMs;
/** The tail of a command's output the model gets, in characters. */
export const MAX_COMMAND_OUTPUT = 30_000;

async function runCommand(args: Record<string, unknown>, context: ToolContext): Promise<string> {
  const command = requiredString(args, 'command');
  const patterns = context.commands ?? [];
  let argv: string[];
  try {
    argv = parseCommandLine(command);
  } catch (error) {
    if (!(error instanceof CommandSyntaxError)) throw error;
    throw new ToolError(
      `${error.message.replace(/\.$/, '')}. run_command runs one command with its arguments and no shell: no pipes, redirections, &&, ;, substitutions or VAR=value prefixes. ${allowedCommands(patterns)}`,
    );
  }
  if (argv.length === 0) throw new ToolError(`"command" is empty. ${allowedCommands(patterns)}`);
  if (!isCommandAllowed(argv, patterns)) throw new ToolError(`"${command}" is not an allowed command. ${allowedCommands(patterns)}`);
  const outsideWorktree = refusedGitArgument(argv);
  if (outsideWorktree) throw new ToolError(`"${command}" is refused: ${outsideWorktree}. Agents run git only on their own worktree; drop that option.`);

  const timeoutMs = context.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const root = await realpath(context.root);
  const result = await runProcess(argv, {
    cwd: root,
    env: cleanEnvironment(context.commandEnv ?? process.env, context.commandSecrets),
    timeoutMs,
    // runProcess keeps the tail: test runners and compilers put the verdict last.
    maxOutputChars: MAX_COMMAND_OUTPUT,
    signal: context.signal,
    ledger: context.processLedger,
    sandbox: { choice: context.sandbox ?? detectSandbox(), root, network: 'none' },
  });

  const seconds = `${(result.durationMs / 1000).toFixed(1)} s`;
  let status: string;
  if (result.timedOut) {
    status = `Timed out after ${timeoutMs / 1000} s and was killed. Run something narrower, e.g. a single test file; the limit is agents.commandTimeoutMs in .github/foreman.yml.`;
  } else if (result.exitCode === null) {
    status = context.signal?.aborted ? 'Stopped: the run was stopped.' : `Killed by ${result.signal ?? 'a signal'} after ${seconds}.`;
  } else {
    status = `Exit code ${result.exitCode} (${seconds}).`;
  }
  return `${status}\n${result.output.trim() === '' ? '(no output)' : result.output}`;
}

function allowedCommands(patterns: readonly string[]): string {
  const source = "The repository's .github/foreman.yml sets which commands agents may run (agents.commands).";
  if (patterns.length === 0) return `No commands are allowed here; check your change by reading it instead. ${source}`;
  const list = patterns.map((p) => `"${p}"`).join(', ');
  return `Allowed commands: ${list} ('*' stands for one argument, a final '**' for any remaining arguments). ${source}`;
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

function optionalBoolean(args: Record<string, unknown>, key: string): boolean | undefined {
  const value = args[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ToolError(`"${key}" must be true or false`);
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
