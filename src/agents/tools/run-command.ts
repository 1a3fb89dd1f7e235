// run_command: a shell command line in the OS sandbox, with the secrets removed, as Claude Code's
// Bash runs one. When the repository lists `agents.commands`, only those commands run, one program
// with its arguments and no shell, so that what matched a pattern is exactly what runs.
import { realpath } from 'node:fs/promises';
import { z } from 'zod';
import { CONFIG_DEFAULTS } from '../../config/schema.ts';
import { cleanEnvironment, runProcess } from '../../workspace/command.ts';
import { CommandSyntaxError, isCommandAllowed, parseCommandLine } from '../../config/command-line.ts';
import { detectSandbox } from '../../workspace/sandbox.ts';
import { refusedGitArgument } from '../git-arguments.ts';
import { defineTool, text, ToolError, type ToolContext } from './tool.ts';

const args = z.object({
  command: text('The command line, e.g. "npm test" or "git log --oneline -5".'),
});

export const runCommandTool = defineTool({
  name: 'run_command',
  description:
    'Run a command in the repository root (tests, build, linter, git log, a script) and get its exit code and the tail of its output. ' +
    'It runs in a sandbox: no network, nothing outside the repository is writable, and git commits or pushes are not possible. ' +
    'When the repository restricts commands (agents.commands), only those run, one program with its arguments and no shell; otherwise the line runs in sh. ' +
    'A non-zero exit code is a result to read, not a failure of the tool.',
  args,
  mutating: true,
  run: runCommand,
});

export const DEFAULT_COMMAND_TIMEOUT_MS = CONFIG_DEFAULTS.agents.commandTimeoutMs;
/** The tail of a command's output the model gets, in characters. */
export const MAX_COMMAND_OUTPUT = 30_000;

async function runCommand({ command }: z.output<typeof args>, context: ToolContext): Promise<string> {
  const argv = context.commands === undefined && context.typeCommands === undefined ? shellLine(command) : restrictedArgv(command, context);
  const timeoutMs = context.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const root = await realpath(context.root);
  const result = await runProcess(argv, {
    cwd: root,
    env: cleanEnvironment(context.commandEnv ?? {}, context.commandSecrets),
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

/**
 * Any command line, through sh inside the sandbox. The sandbox is the boundary here (git's
 * directories are read-only in it, nothing outside the worktree is writable), so nothing is
 * parsed or refused: `cd src && npm test | tail` works as in Claude Code's Bash.
 */
function shellLine(command: string): string[] {
  if (command.trim() === '') throw new ToolError('"command" is empty: give the command line to run, e.g. "npm test"');
  return ['/bin/sh', '-c', command];
}

/** One program, no shell, allowed by the repository's list and the agent type's rules, where each is set. */
function restrictedArgv(command: string, context: ToolContext): string[] {
  const argv = context.commands === undefined ? null : allowedArgv(command, context.commands);
  if (context.typeCommands === undefined) return argv!;
  return allowedArgv(command, context.typeCommands, "This agent's type (its definition's Bash(...) rules) restricts which commands it may run.");
}

/** An allow-list (`agents.commands`, or an agent type's rules): one program, no shell, matching a pattern. */
function allowedArgv(command: string, patterns: readonly string[], source = REPOSITORY_RULES): string[] {
  let argv: string[];
  try {
    argv = parseCommandLine(command);
  } catch (error) {
    if (!(error instanceof CommandSyntaxError)) throw error;
    throw new ToolError(
      `${error.message.replace(/\.$/, '')}. run_command runs one command with its arguments and no shell: no pipes, redirections, &&, ;, substitutions or VAR=value prefixes. ${allowedCommands(patterns, source)}`,
    );
  }
  if (argv.length === 0) throw new ToolError(`"command" is empty. ${allowedCommands(patterns, source)}`);
  if (!isCommandAllowed(argv, patterns)) throw new ToolError(`"${command}" is not an allowed command. ${allowedCommands(patterns, source)}`);
  const outsideWorktree = refusedGitArgument(argv);
  if (outsideWorktree) throw new ToolError(`"${command}" is refused: ${outsideWorktree}. Agents run git only on their own worktree; drop that option.`);
  return argv;
}

const REPOSITORY_RULES = "The repository's .github/foreman.yml restricts which commands agents may run (agents.commands).";

function allowedCommands(patterns: readonly string[], source: string): string {
  if (patterns.length === 0) return `No commands are allowed here; check your change by reading it instead. ${source}`;
  const list = patterns.map((p) => `"${p}"`).join(', ');
  return `Allowed commands: ${list} ('*' stands for one argument, a final '**' for any remaining arguments). ${source}`;
}
