// The Action's inputs (action.yml) as one zod schema: each input's check and its default are
// written here, once. GitHub reads action.yml, so its `default:` lines must say the same thing;
// test/action-inputs.test.ts holds the two together. GitHub hands an input it was not given over
// as '', so '' means "absent" and takes the default.
import { z } from 'zod';
import { CONFIG_PATH } from './load.ts';

export type ProposeMode = 'pr' | 'branch' | 'none';

/** A bad input: the message names the input and what it takes. */
export class ActionInputError extends Error {}

/** An input whose value, when not given, is `value` (as action.yml's `default:` says too). */
function input<T extends z.ZodType<unknown, string>>(value: string, schema: T) {
  return z.string().transform((text) => text || value).pipe(schema).meta({ default: value });
}

/** An input with no default: '' when not given. */
const optionalText = z.string();

function required(name: string, fix: string) {
  return z.string().refine((text) => text !== '', `${name} is empty: ${fix}`);
}

function positive(name: string, whole: boolean) {
  return z.string().transform((text, ctx): number | undefined => {
    if (text === '') return undefined;
    const value = Number(text);
    if (Number.isFinite(value) && value > 0 && (!whole || Number.isInteger(value))) return value;
    ctx.addIssue({ code: 'custom', message: `${name} must be a ${whole ? 'whole ' : ''}number above 0, not ${text}` });
    return z.NEVER;
  });
}

function flag(name: string) {
  return z.string().transform((text, ctx): boolean => {
    if (/^(true|false)$/i.test(text)) return /^true$/i.test(text);
    ctx.addIssue({ code: 'custom', message: `${name} must be true or false, not ${text}` });
    return z.NEVER;
  });
}

const proposeMode = z.string().transform((text, ctx): ProposeMode => {
  if (text === 'pr' || text === 'branch' || text === 'none') return text;
  ctx.addIssue({ code: 'custom', message: `propose must be pr, branch or none, not ${text}` });
  return z.NEVER;
});

// Checked in this order, and the first bad one is the error: the credentials first, as before.
export const actionInputsSchema = z.object({
  'anthropic-api-key': required('anthropic-api-key', 'pass `anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }}` and add that secret to the repository'),
  'github-token': required('github-token', 'leave it out to use `github.token`, or pass a token with contents, pull-requests and checks write'),
  propose: input('pr', proposeMode),
  'budget-tokens': positive('budget-tokens', true),
  'max-cost-usd': positive('max-cost-usd', false),
  concurrency: positive('concurrency', true),
  'check-runs': input('true', flag('check-runs')),
  sarif: input('false', flag('sarif')),
  workflow: optionalText,
  args: optionalText,
  config: input(CONFIG_PATH, z.string()),
  base: optionalText,
  model: optionalText,
});

export type ActionInputName = keyof typeof actionInputsSchema.shape;
export const ACTION_INPUT_NAMES = Object.keys(actionInputsSchema.shape) as ActionInputName[];

/** The inputs, checked; `args` is still its text (the door parses it as a comment's args). */
export interface ActionInputValues {
  workflow: string;
  args: string;
  anthropicApiKey: string;
  githubToken: string;
  config: string;
  base: string;
  model: string | undefined;
  budgetTokens: number | undefined;
  maxCostUsd: number | undefined;
  concurrency: number | undefined;
  propose: ProposeMode;
  checkRuns: boolean;
  sarif: boolean;
}

/** `read`: an input's text by its action.yml name ('' when not given), as @actions/core's getInput. */
export function parseActionInputs(read: (name: ActionInputName) => string): ActionInputValues {
  const raw = Object.fromEntries(ACTION_INPUT_NAMES.map((name) => [name, read(name)]));
  const parsed = actionInputsSchema.safeParse(raw);
  if (!parsed.success) throw new ActionInputError(parsed.error.issues[0]!.message);
  const v = parsed.data;
  return {
    workflow: v.workflow,
    args: v.args,
    anthropicApiKey: v['anthropic-api-key'],
    githubToken: v['github-token'],
    config: v.config,
    base: v.base,
    model: v.model || undefined,
    budgetTokens: v['budget-tokens'],
    maxCostUsd: v['max-cost-usd'],
    concurrency: v.concurrency,
    propose: v.propose,
    checkRuns: v['check-runs'],
    sarif: v.sarif,
  };
}
