// What every tool is made of: a name, a description, its arguments as ONE zod object, and what it
// does. The JSON Schema the model sees and the checks its arguments get both come from that object,
// so the two cannot disagree.
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import type { ProcessLedger } from '../../workspace/process-ledger.ts';
import type { SandboxChoice } from '../../workspace/sandbox.ts';

export interface ToolResult {
  output: string;
  isError: boolean;
}

/** Output cap per tool call, in characters (about 25k tokens). */
export const MAX_TOOL_OUTPUT = 100_000;

/** Where and with what rights an agent's tools run. */
export interface ToolContext {
  /** The directory every path is confined to: the agent's worktree, or the run's shared worktree. */
  root: string;
  /** The agent may write: edit_file, write_file and run_command are available. */
  write?: boolean;
  /** The tools this agent's type allows, within what `write` gives; all of them when absent. */
  tools?: readonly string[];
  /** Patterns of the commands run_command may run (`agents.commands`); absent: any command line, through sh. */
  commands?: readonly string[];
  /** The agent type's own patterns (its `Bash(pattern)` rules): a command must match these too. */
  typeCommands?: readonly string[];
  /** Timeout of one run_command; default DEFAULT_COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** The environment run_command starts from, before secrets are removed; none when absent. */
  commandEnv?: NodeJS.ProcessEnv;
  /**
   * Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command
   * runs. Read again for every command, so a token minted while the run goes on is covered too.
   */
  commandSecrets?: Iterable<string>;
  /** The agent's signal: stopping the agent kills a running command. */
  signal?: AbortSignal;
  /** Where running commands are written down, so a Foreman that dies cannot orphan them. */
  processLedger?: ProcessLedger;
  /** The sandbox run_command runs in (default: detectSandbox(); unavailable → refused). */
  sandbox?: SandboxChoice;
}

/** How run_command runs, as the runner is set up once for every agent of a run. */
export type CommandSettings = Pick<ToolContext, 'commands' | 'commandTimeoutMs' | 'commandEnv' | 'commandSecrets' | 'processLedger' | 'sandbox'>;

/** A mistake the model made; its message is written for the model. */
export class ToolError extends Error {}

export interface Tool {
  readonly name: string;
  /** Changes the worktree or runs code in it: write agents only, one call at a time. */
  readonly mutating: boolean;
  /** What the model is offered. */
  readonly definition: Anthropic.Tool;
  /** Checks the model's arguments, then runs; a ToolError for the model on a bad argument. */
  execute(input: unknown, context: ToolContext): Promise<string>;
}

interface ToolSpec<Args extends z.ZodObject> {
  name: string;
  description: string;
  args: Args;
  mutating?: boolean;
  run(args: z.output<Args>, context: ToolContext): Promise<string>;
}

export function defineTool<Args extends z.ZodObject>(spec: ToolSpec<Args>): Tool {
  return {
    name: spec.name,
    mutating: spec.mutating ?? false,
    definition: { name: spec.name, description: spec.description, input_schema: inputSchema(spec.args) },
    execute: (input, context) => spec.run(parseArguments(spec.args, input), context),
  };
}

// ---- argument kinds: each carries the words its refusal uses ------------------------------

/** A string argument; required unless `.optional()`. */
export const text = (description: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') }).describe(description);

export const flag = (description: string) => z.boolean({ error: 'must be true or false' }).describe(description);

export const positiveInteger = (description: string) =>
  z.int({ error: 'must be a positive integer' }).min(1, { error: 'must be a positive integer' }).describe(description);

function parseArguments<Args extends z.ZodObject>(args: Args, input: unknown): z.output<Args> {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw new ToolError('tool input must be a JSON object');
  }
  // Models send null for an argument they mean to leave out: it counts as absent.
  const given = Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== null));
  const parsed = args.safeParse(given);
  if (parsed.success) return parsed.data;
  // The first argument wrong, as the model reads the schema: its name, and what it must be.
  const issue = parsed.error.issues[0];
  throw new ToolError(`"${String(issue.path[0])}" ${issue.message}`);
}

/** The argument object as JSON Schema, without the dialect line and zod's bounds of a safe integer. */
function inputSchema(args: z.ZodObject): Anthropic.Tool.InputSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(args, {
    io: 'input',
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'integer' && jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return schema as Anthropic.Tool.InputSchema;
}
