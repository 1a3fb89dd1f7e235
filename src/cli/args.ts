// Command-line parsing. Every mistake is a UsageError naming the flag and the fix (exit 2).
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const USAGE = `usage:
  foreman run <name | path.js | "free text"> [--args <json|string> | --from-run <runId> | --diff-from REF] [--repo DIR] [--base REF]
              [--model M] [--concurrency N] [--budget-tokens N] [--max-cost-usd X] [--max-agents N] [--yes] [--json]
  foreman resume <runId> [--budget-tokens N] [--max-cost-usd X] [--max-agents N] [--json]
  foreman runs [--json]
  foreman show <runId> [--agent N]
  foreman list [--repo DIR]
  foreman validate <file.js>
  foreman save <runId> <name> [--force]
  foreman app [--port N] [--host H] [--no-worker]
                                             the GitHub App: webhooks, and a worker for its runs (README: Run the GitHub App)
  foreman worker [--max-runs N]              runs the App's queued runs next to \`foreman app --no-worker\``;

/**
 * `--args`: text that starts with { or [ must be JSON (an error gives the position); other text
 * is the JSON value it parses as (a number, true, a "quoted string"), else the string itself.
 */
export function parseScriptArgs(text: string | undefined): unknown {
  if (text === undefined) return null;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`--args starts with ${trimmed[0]} but is not valid JSON: ${(error as Error).message}: fix the JSON, or quote the whole value as a string`);
    }
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number of at least 1, got '${value}'`);
  return n;
}

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a number above 0, got '${value}'`);
  return n;
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`foreman ${command}: ${(error as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
}

export interface RunArgs {
  ref: string;
  args: unknown;
  repo: string;
  base: string;
  model?: string;
  concurrency?: number;
  budgetTokens?: number;
  maxCostUsd?: number;
  maxAgents?: number;
  json: boolean;
  yes: boolean;
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
      json: { type: 'boolean' },
      yes: { type: 'boolean' },
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
    json: values.json ?? false,
    yes: values.yes ?? false,
  };
}

// The ceilings of a run (DESIGN §2), for `run` and, raised, for `resume`.
const CAP_OPTIONS = {
  'budget-tokens': { type: 'string' },
  'max-cost-usd': { type: 'string' },
  'max-agents': { type: 'string' },
} as const;

/** The same bound as config limits.agentsPerRun. */
const MAX_AGENTS_LIMIT = 100_000;

function capsOf(values: { 'budget-tokens'?: string; 'max-cost-usd'?: string; 'max-agents'?: string }): { budgetTokens?: number; maxCostUsd?: number; maxAgents?: number } {
  const maxAgents = positiveInt('max-agents', values['max-agents']);
  if (maxAgents !== undefined && maxAgents > MAX_AGENTS_LIMIT) throw new UsageError(`--max-agents is at most ${MAX_AGENTS_LIMIT}, got ${maxAgents}: split the work into several runs`);
  return {
    budgetTokens: positiveInt('budget-tokens', values['budget-tokens']),
    maxCostUsd: positiveNumber('max-cost-usd', values['max-cost-usd']),
    maxAgents,
  };
}

export interface ResumeArgs {
  runId: string;
  json: boolean;
  /** Caps that replace the run's own; unset ones stay as the run had them. */
  caps: { budgetTokens?: number; maxCostUsd?: number; maxAgents?: number };
}

export function parseResumeArgs(argv: string[]): ResumeArgs {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, ...CAP_OPTIONS }, 'resume');
  if (positionals.length !== 1) throw new UsageError(`foreman resume takes one run id (\`foreman runs\` lists them)\n${USAGE}`);
  return { runId: positionals[0], json: values.json ?? false, caps: capsOf(values) };
}

export function parseIdArgs(argv: string[], command: string): { runId: string; json: boolean; agent?: number } {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, agent: { type: 'string' } }, command);
  if (positionals.length !== 1) throw new UsageError(`foreman ${command} takes one run id (\`foreman runs\` lists them)\n${USAGE}`);
  if (values.agent !== undefined && command !== 'show') throw new UsageError(`--agent belongs to foreman show\n${USAGE}`);
  return { runId: positionals[0], json: values.json ?? false, agent: positiveInt('agent', values.agent) };
}

export function parseListArgs(argv: string[], command: string): { repo: string; json: boolean } {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, repo: { type: 'string' } }, command);
  if (positionals.length > 0) throw new UsageError(`foreman ${command} takes no positional arguments\n${USAGE}`);
  return { repo: values.repo ?? '.', json: values.json ?? false };
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
