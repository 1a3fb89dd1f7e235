// Command-line parsing. Every mistake is a UsageError naming the flag and the fix (exit 2).
import { parseArgs } from 'node:util';
import { MAX_AGENTS_PER_RUN, MAX_RUN_WALL_MS, MAX_TURNS_PER_AGENT } from '../config/schema.ts';
import { ArgsTextError, parseArgsText } from '../contracts/script-args.ts';
import { APP_HELP, helpText, WORKER_HELP } from '../service/usage-text.ts';
import type { RunTuning } from '../service/runs.ts';

export class UsageError extends Error {}

/** Each command's synopsis (the lines of the usage text) and what its --help adds. */
const COMMANDS_HELP: Record<string, { synopsis: string; details: string; summary?: string }> = {
  run: {
    synopsis: `foreman run <name | path.js | "free text"> [--args <json|string> | --from-run <runId> | --diff-from REF] [--repo DIR] [--base REF]
              [--model M] [--concurrency N] [--budget-tokens N] [--max-cost-usd X] [--max-agents N] [--max-turns N] [--max-time T]
              [--read-only] [--yes] [--json] [--no-sandbox]`,
    details: `Runs a workflow in a checkout of the commit --base names, which its agents share; uncommitted changes
are not seen by agents, and what the agents edit becomes a change (a foreman/… branch), never your tree. \`run <id>\` is the first line on stderr; the result goes to stdout.
  --args V             the workflow's args: JSON if V starts with { or [, else its JSON value or the text
  --from-run ID        the result of a completed run as args (e.g. fix-findings after an audit)
  --diff-from REF      args { diff, base, head }: what --base changed since it left REF
  --repo DIR           the repository (default: the current directory)
  --base REF           the commit agents read (default HEAD)
  --model M            the agents' default model (an alias such as haiku, or a model id)
  --concurrency N      agents in flight at once (default 16)
  --budget-tokens N    start no agent once N output tokens are spent (the script's budget.total; the run ends
                       budget-exhausted)
  --max-cost-usd X     start no agent once $X is spent (every token counts: input, cache and output)
  --max-agents N       start at most N agents (default 1,000)
  --max-turns N        model turns one agent may take (default 200; config limits.maxTurns)
  --max-time T         the run's wall clock, e.g. 90m or 5h (default 4h, at most 6h; config limits.wallMs)
  --read-only          plain agent() calls only list, read and search: no edits, no commands
  --yes                run a workflow written from free text without asking
  --json               one JSON object on stdout instead of the result
  --no-sandbox         run gate steps and agents' commands without the OS sandbox (also FOREMAN_SANDBOX=off);
                       only on your own machine: repository code then runs with your rights
Exit codes: 0 completed, 1 failed or stopped, 2 usage, validation or config errors, 3 budget-exhausted.`,
  },
  resume: {
    synopsis: 'foreman resume <runId> [--script <name | path.js>] [--args <json|string>] [--budget-tokens N] [--max-cost-usd X] [--max-agents N] [--max-turns N] [--max-time T] [--take-over] [--json] [--no-sandbox]',
    details: `Continues a stopped, failed, killed or budget-exhausted run from its journal, keeping its id: finished agents are not paid for again.
It runs the script the run started with, with the same args, unless told otherwise; caps given here are raised and stored with the run.
  --script S           run this script from now on (a saved workflow's name or a path.js, validated as \`foreman run\` does):
                       every call whose inputs still match replays from the journal, only new or changed calls run
  --args V             new args for the run, as \`foreman run --args\` takes them
  --max-turns N        model turns one agent may take from now on
  --max-time T         the run's wall clock from now on, e.g. 90m or 5h (at most 6h)
  --take-over          resume a run a process on another host still holds in the shared store (DATABASE_URL), when that
                       host is gone; a holder that is in fact alive writes nothing more of the run once taken over`,
  },
  runs: { synopsis: 'foreman runs [--json]', details: 'Lists the runs, newest first; a run whose process was killed shows as interrupted.' },
  show: { synopsis: 'foreman show <runId> [--agent N] [--json]', details: "A run's status and agents; --agent N shows one agent's prompt, tool calls and result." },
  list: { synopsis: 'foreman list [--repo DIR] [--json]', details: 'The workflows a name finds: .claude/workflows, ~/.claude/workflows, then the built-in ones.' },
  validate: { synopsis: 'foreman validate <file.js>', details: 'Checks a workflow script without running it.' },
  doctor: { synopsis: 'foreman doctor', details: "Checks this machine: whether the OS sandbox that gate steps and agents' commands run in works here, and if not, why and how to fix it. Exit 0 when it works, 1 when not." },
  save: { synopsis: 'foreman save <runId> <name> [--force]', details: "Keeps a run's script as .claude/workflows/<name>.js of its repository (--force overwrites)." },
  // The App's commands print their own help (src/app); the text is shared, so both say the same.
  app: APP_HELP,
  worker: WORKER_HELP,
};

export const USAGE = `usage:
${Object.values(COMMANDS_HELP)
  .map((help) => (help.summary ? `  ${help.synopsis}\n${' '.repeat(45)}${help.summary}` : `  ${help.synopsis}`))
  .join('\n')}
  foreman --version
  foreman <command> --help                   one command's options
run, resume, runs, show, save, app and worker take --database-url URL (default DATABASE_URL): the
runs are then in that PostgreSQL database, shared with the App's workers, not in FOREMAN_HOME.`;

/** `foreman <command> --help`; null for a command there is none. */
export function commandHelp(command: string): string | null {
  const help = Object.hasOwn(COMMANDS_HELP, command) ? COMMANDS_HELP[command] : undefined;
  return help ? helpText(help) : null;
}

export const wantsHelp = (argv: string[]): boolean => {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
};

/** `--args`, by the one rule of every door (contracts/script-args.ts). */
export function parseScriptArgs(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return parseArgsText(text);
  } catch (error) {
    if (error instanceof ArgsTextError) throw new UsageError(error.explain('--args'));
    throw error;
  }
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, got '${value}': pass a whole number of at least 1, e.g. --${flag} 4`);
  return n;
}

function boundedInt(flag: string, value: string | undefined, max: number): number | undefined {
  const n = positiveInt(flag, value);
  if (n !== undefined && n > max) throw new UsageError(`--${flag} is at most ${max}, got ${n}`);
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration such as 90m, 5h or 3600s, in milliseconds, at most the longest run. */
function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]]) : NaN;
  if (!(ms >= 1_000)) throw new UsageError(`--${flag} must be a duration such as 90m, 5h or 3600s, got '${value}'`);
  if (ms > MAX_RUN_WALL_MS) throw new UsageError(`--${flag} is at most 6h (GitHub's ceiling for a job), got '${value}': split the work into several runs`);
  return ms;
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number, got '${value}': pass a number above 0, e.g. --${flag} 2.5`);
  return n;
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: negativeValuesJoined(argv, options), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`foreman ${command}: ${(error as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
}

/**
 * parseArgs takes `--concurrency -3` for two flags and calls it ambiguous; a number after a flag
 * that takes a value is that value, so the range check can say what is wrong with it.
 */
function negativeValuesJoined(argv: string[], options: Record<string, { type: 'string' | 'boolean' }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return [...out, ...argv.slice(i)];
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    const next = argv[i + 1];
    if (name !== null && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i += 1;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

export interface RunArgs extends RunTuning {
  ref: string;
  args: unknown;
  repo: string;
  base: string;
  json: boolean;
  yes: boolean;
  /** Run repository code without the OS sandbox (the user's own machine only; warned about). */
  noSandbox: boolean;
  /** Use that run's result as args (e.g. fix-findings after an audit). */
  fromRun?: string;
  /** Args are { diff, base, head }: the changes of --base since it left REF, as a pull request shows them. */
  diffFrom?: string;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const { values, positionals } = parse(
    argv,
    {
      args: { type: 'string' },
      'from-run': { type: 'string' },
      'diff-from': { type: 'string' },
      repo: { type: 'string' },
      base: { type: 'string' },
      model: { type: 'string' },
      concurrency: { type: 'string' },
      ...CAP_OPTIONS,
      'max-turns': { type: 'string' },
      'max-time': { type: 'string' },
      json: { type: 'boolean' },
      yes: { type: 'boolean' },
      'read-only': { type: 'boolean' },
      'no-sandbox': { type: 'boolean' },
    },
    'run',
  );
  if (positionals.length !== 1) {
    throw new UsageError(`foreman run takes one workflow (a name, a path.js or free text), got ${positionals.length}: quote free text\n${USAGE}`);
  }
  const argSources = (['args', 'from-run', 'diff-from'] as const).filter((name) => values[name] !== undefined);
  if (argSources.length > 1) {
    throw new UsageError(`${argSources.map((name) => `--${name}`).join(' and ')} each give the workflow its args: pass one of them\n${USAGE}`);
  }
  return {
    ref: positionals[0],
    args: parseScriptArgs(values.args),
    fromRun: values['from-run'],
    diffFrom: values['diff-from'],
    repo: values.repo ?? '.',
    base: values.base ?? 'HEAD',
    model: values.model,
    concurrency: positiveInt('concurrency', values.concurrency),
    ...capsOf(values),
    maxTurns: boundedInt('max-turns', values['max-turns'], MAX_TURNS_PER_AGENT),
    wallMs: duration('max-time', values['max-time']),
    json: values.json ?? false,
    yes: values.yes ?? false,
    readOnly: values['read-only'] ?? false,
    noSandbox: values['no-sandbox'] ?? false,
  };
}

// The ceilings of a run (DESIGN §2), for `run` and, raised, for `resume`.
const CAP_OPTIONS = {
  'budget-tokens': { type: 'string' },
  'max-cost-usd': { type: 'string' },
  'max-agents': { type: 'string' },
} as const;

/** The same bound as config limits.agentsPerRun. */

function capsOf(values: { 'budget-tokens'?: string; 'max-cost-usd'?: string; 'max-agents'?: string }): { budgetTokens?: number; maxCostUsd?: number; maxAgents?: number } {
  const maxAgents = positiveInt('max-agents', values['max-agents']);
  if (maxAgents !== undefined && maxAgents > MAX_AGENTS_PER_RUN) throw new UsageError(`--max-agents is at most ${MAX_AGENTS_PER_RUN}, got ${maxAgents}: split the work into several runs`);
  return {
    budgetTokens: positiveInt('budget-tokens', values['budget-tokens']),
    maxCostUsd: positiveNumber('max-cost-usd', values['max-cost-usd']),
    maxAgents,
  };
}

export interface ResumeArgs {
  runId: string;
  json: boolean;
  /** Caps and limits that replace the run's own; unset ones stay as the run had them. */
  caps: { budgetTokens?: number; maxCostUsd?: number; maxAgents?: number; maxTurns?: number; wallLimitMs?: number };
  noSandbox: boolean;
  /** --script: a saved workflow's name or a path.js to run instead of the stored script. */
  script?: string;
  /** --args, parsed: new args for the run (wrapped: `--args null` is args too). */
  args?: { value: unknown };
  /** --take-over: claim the run whatever process holds it. */
  takeOver: boolean;
}

export function parseResumeArgs(argv: string[]): ResumeArgs {
  const { values, positionals } = parse(
    argv,
    { json: { type: 'boolean' }, 'no-sandbox': { type: 'boolean' }, 'take-over': { type: 'boolean' }, script: { type: 'string' }, args: { type: 'string' }, ...CAP_OPTIONS, 'max-turns': { type: 'string' }, 'max-time': { type: 'string' } },
    'resume',
  );
  if (positionals.length !== 1) throw new UsageError(`foreman resume takes one run id (\`foreman runs\` lists them)\n${USAGE}`);
  if (values.script !== undefined && values.script.trim() === '') throw new UsageError('--script is empty: pass a saved workflow\'s name or the path of the edited script, e.g. --script ./audit.js');
  return {
    runId: positionals[0],
    json: values.json ?? false,
    caps: {
      ...capsOf(values),
      maxTurns: boundedInt('max-turns', values['max-turns'], MAX_TURNS_PER_AGENT),
      wallLimitMs: duration('max-time', values['max-time']),
    },
    noSandbox: values['no-sandbox'] ?? false,
    takeOver: values['take-over'] ?? false,
    ...(values.script !== undefined ? { script: values.script } : {}),
    ...(values.args !== undefined ? { args: { value: parseScriptArgs(values.args) } } : {}),
  };
}

export function parseIdArgs(argv: string[], command: string): { runId: string; json: boolean; agent?: number } {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, agent: { type: 'string' } }, command);
  if (positionals.length !== 1) throw new UsageError(`foreman ${command} takes one run id (\`foreman runs\` lists them)\n${USAGE}`);
  if (values.agent !== undefined && command !== 'show') throw new UsageError(`--agent belongs to foreman show\n${USAGE}`);
  return { runId: positionals[0], json: values.json ?? false, agent: positiveInt('agent', values.agent) };
}

/** `repo` is unset when --repo was not given. */
export function parseListArgs(argv: string[], command: string): { repo?: string; json: boolean } {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, repo: { type: 'string' } }, command);
  if (positionals.length > 0) throw new UsageError(`foreman ${command} takes no positional arguments\n${USAGE}`);
  return { repo: values.repo, json: values.json ?? false };
}

export function parseValidateArgs(argv: string[]): { file: string } {
  const { positionals } = parse(argv, {}, 'validate');
  if (positionals.length !== 1) throw new UsageError(`foreman validate takes one script file\n${USAGE}`);
  return { file: positionals[0] };
}

/** Lowercase, so the file name means the same on case-insensitive file systems. */
const SAVE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export function parseSaveArgs(argv: string[]): { runId: string; name: string; force: boolean } {
  const { values, positionals } = parse(argv, { force: { type: 'boolean' } }, 'save');
  if (positionals.length !== 2) {
    throw new UsageError(`foreman save takes a run id and a name, e.g. \`foreman save 20261121-134501-3f9a audit-auth\` (\`foreman runs\` lists the runs)\n${USAGE}`);
  }
  const [runId, name] = positionals;
  if (!SAVE_NAME.test(name)) {
    throw new UsageError(`'${name}' is not a valid workflow name: use lowercase letters, digits, '-' and '_', starting with a letter or digit (e.g. audit-auth)`);
  }
  return { runId, name, force: values.force ?? false };
}
