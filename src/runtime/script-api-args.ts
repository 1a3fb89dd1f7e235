// The options of the script API's host calls, checked where they cross from the isolate and before
// anything runs: a label, phase or model of the wrong type would otherwise start (and pay for) an
// agent, then fail when its record is stored, with a message about the store instead of the script.
// One schema per call, as docs/script-api.md lists the options; each option's description is what
// the error says it takes.
import { z } from 'zod';
import type { AgentOptions } from '../contracts/ports.ts';

/** Claude Code's effort levels (agent({ effort })), lowest first. */
export const EFFORT_LEVELS = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
/** agent({ timeoutMs }): at most a run's longest wall clock. */
const MAX_AGENT_TIMEOUT_MS = 21_600_000;
/** agent({ retries }): a failed agent runs at most this many more times. */
const MAX_AGENT_RETRIES = 10;
/** agent({ maxTurns }): the same bound as config limits.maxTurns. */
const MAX_AGENT_TURNS = 1000;

const text = (takes: string) => z.string().nullish().describe(takes);

const agentFields = {
  schema: z.record(z.string(), z.unknown()).nullish().describe('a JSON Schema object (its root an object)'),
  label: text('a string (shown in progress output)'),
  phase: text('a string (a phase title)'),
  model: z.string().min(1).nullish().describe("a model alias (haiku, sonnet, opus) or a model id, as a string"),
  effort: z.enum(EFFORT_LEVELS).nullish().describe(`one of ${EFFORT_LEVELS.map((level) => `'${level}'`).join(', ')}`),
  agentType: text('a string'),
  timeoutMs: z.int().min(1).max(MAX_AGENT_TIMEOUT_MS).nullish().describe(`a whole number of milliseconds from 1 to ${MAX_AGENT_TIMEOUT_MS} (6 hours)`),
  retries: z.int().min(0).max(MAX_AGENT_RETRIES).nullish().describe(`a whole number from 0 to ${MAX_AGENT_RETRIES}`),
  maxTurns: z.int().min(1).max(MAX_AGENT_TURNS).nullish().describe(`a whole number of model turns from 1 to ${MAX_AGENT_TURNS}`),
};

/** agent(prompt, opts): unknown keys pass, as a script written for a newer Claude Code may have them. */
export const agentOptionsSchema = z.looseObject({
  ...agentFields,
  isolation: z.literal('worktree').nullish().describe("'worktree'"),
  cwd: z.looseObject({ id: z.string() }).nullish().describe('a change returned by change()'),
});

/** change(prompt, opts): as agent(), without isolation or cwd (a change is its own worktree). */
export const changeOptionsSchema = z.looseObject(agentFields);

/**
 * The options as the engine uses them, or a TypeError naming the call, the option, what it got and
 * what it takes. `null` means "the default", as leaving the option out does.
 */
export function checkedOptions(callee: 'agent' | 'change', schema: z.ZodType, opts: unknown): AgentOptions {
  const usage = `${callee}(prompt, opts?)`;
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${usage}: opts must be an object, got ${describeValue(opts)}`);
  const parsed = schema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const takes = (schema as z.ZodObject).shape[key]?.description ?? issue.message;
    throw new TypeError(`${usage}: opts.${key} must be ${takes}, got ${describeValue((opts as Record<string, unknown>)[key])}`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.data as Record<string, unknown>)) if (value !== null) options[key] = value;
  return options as AgentOptions;
}

/** What the script passed, short: enough to find it, never the whole value. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
