// The agents' tools, confined to the agent's root directory (a git checkout or worktree): read
// tools for every agent; edit_file, write_file and run_command for agents that may write (plain
// agents in the run's shared worktree, and write agents in their own). Anything the
// model gets wrong — a bad path, an escape attempt, a bad regex, a command it may not run — comes
// back as a tool error the model can read and correct; nothing here throws at the agent loop.
// One file per tool in tools/; each tool's schema and argument checks come from one zod object.
import type Anthropic from '@anthropic-ai/sdk';
import { fromClaudeCode } from './tools/aliases.ts';
import { withoutHostPaths } from './tools/confinement.ts';
import { editFileTool } from './tools/edit-file.ts';
import { listFilesTool } from './tools/list-files.ts';
import { readFileTool } from './tools/read-file.ts';
import { runCommandTool } from './tools/run-command.ts';
import { searchTool } from './tools/search.ts';
import { ToolError, type Tool, type ToolContext, type ToolResult } from './tools/tool.ts';
import { writeFileTool } from './tools/write-file.ts';

export { MAX_TOOL_OUTPUT, type CommandSettings, type ToolContext, type ToolResult } from './tools/tool.ts';
export { MAX_LIST_ENTRIES } from './tools/list-files.ts';
export { DEFAULT_READ_LINES } from './tools/read-file.ts';
export { MAX_WRITE_BYTES } from './tools/file-writes.ts';
export { MAX_EDIT_FILE_BYTES } from './tools/edit-file.ts';
export { DEFAULT_COMMAND_TIMEOUT_MS, MAX_COMMAND_OUTPUT } from './tools/run-command.ts';

const READS: readonly Tool[] = [listFilesTool, readFileTool, searchTool];
/** Tools of agents that may write only, offered after the read tools. */
const WRITES: readonly Tool[] = [editFileTool, writeFileTool, runCommandTool];
const BY_NAME = new Map([...READS, ...WRITES].map((tool) => [tool.name, tool]));

export const READ_TOOLS: readonly Anthropic.Tool[] = READS.map((tool) => tool.definition);
export const WRITE_TOOLS: readonly Anthropic.Tool[] = WRITES.map((tool) => tool.definition);

export const EDIT_FILE = editFileTool.name;
export const WRITE_FILE = writeFileTool.name;
export const RUN_COMMAND = runCommandTool.name;

/** Tool calls that change the worktree or run code in it (by Foreman's name or Claude Code's); the loop runs these one at a time. */
export const isMutatingTool = (name: string): boolean => toolNamed(name)?.mutating ?? false;

/** Foreman's tool, by its own name or by Claude Code's (tools/aliases.ts). */
const toolNamed = (name: string): Tool | undefined => BY_NAME.get(name) ?? BY_NAME.get(fromClaudeCode(name, undefined, '')?.name ?? '');

/**
 * Runs one tool for an agent. Never throws: failures are tool errors for the model. Claude Code's
 * tool names and inputs (`Read` with `file_path`, …) run the Foreman tool they stand for.
 */
export async function executeTool(name: string, input: unknown, context: ToolContext): Promise<ToolResult> {
  const alias = BY_NAME.has(name) ? null : fromClaudeCode(name, input, context.root);
  if (alias) ({ name, input } = alias);
  try {
    const tool = BY_NAME.get(name);
    if (!tool || (context.tools && !context.tools.includes(name))) return fail(`unknown tool "${name}"; available tools: ${toolNames(context)}`);
    if (tool.mutating && !context.write) {
      throw new ToolError(`${name} is not available: this agent is read-only and may not change files or run commands. Available tools: ${toolNames(context)}`);
    }
    return { output: await tool.execute(input, context), isError: false };
  } catch (error) {
    if (error instanceof ToolError) return fail(error.message);
    // A file system error names the absolute path it failed on.
    return fail(`${name} failed: ${await withoutHostPaths(error instanceof Error ? error.message : String(error), context.root)}`);
  }
}

/** The tools an agent is offered: those of its kind (write or read-only), narrowed by its type's list. */
export function offeredTools(write: boolean, allowed: readonly string[] | undefined): Anthropic.Tool[] {
  return toolsOfKind(write, allowed).map((tool) => tool.definition);
}

const toolsOfKind = (write: boolean | undefined, allowed: readonly string[] | undefined): Tool[] =>
  (write ? [...READS, ...WRITES] : READS).filter((tool) => allowed === undefined || allowed.includes(tool.name));

const toolNames = (context: ToolContext): string => toolsOfKind(context.write, context.tools).map((tool) => tool.name).join(', ') || 'none';

const fail = (output: string): ToolResult => ({ output, isError: true });
