// Free text → a workflow script (DESIGN §4.3). The model is guided by the authoring reference and
// must answer through one tool, so what comes back is the script itself rather than prose about
// it; every answer goes through the same validator as a saved script, and its errors go back to
// the model until it validates or the attempts run out.

import { readFileSync } from 'node:fs';
import type Anthropic from '@anthropic-ai/sdk';
import { addUsage, zeroUsage, type Usage } from '../contracts/usage.ts';
import { ScriptValidationError, validateScript, type ScriptProblem, type ValidatedScript } from './validate.ts';
import { RateGovernor } from '../agents/governor.ts';
import { ModelCallError, toParam, usageOf } from '../agents/loop.ts';
import { ModelClient } from '../agents/model-client.ts';

/**
 * Bumped whenever the reference changes what the model is told; it is written into every
 * generated script, so a script can be traced to the reference that produced it.
 */
export const AUTHORING_REFERENCE_VERSION = 'v3';
export const SUBMIT_WORKFLOW_TOOL = 'submit_workflow';
export const MAX_GENERATION_ATTEMPTS = 3;

const REFERENCE_URL = new URL('./authoring-reference.md', import.meta.url);
const EPHEMERAL = { type: 'ephemeral' } as const;

let reference: string | undefined;

/** The system prompt; read on first use so that commands that never generate never touch it. */
export function authoringReference(): string {
  if (reference === undefined) {
    const text = readFileSync(REFERENCE_URL, 'utf8');
    const expected = `Authoring reference ${AUTHORING_REFERENCE_VERSION}`;
    if (text.split('\n', 1)[0].trim() !== expected) {
      // Scripts would carry a version that does not describe what the model was told.
      throw new Error(`${REFERENCE_URL.pathname} must start with "${expected}": update the file's first line or AUTHORING_REFERENCE_VERSION`);
    }
    reference = text;
  }
  return reference;
}

/**
 * Text with whitespace is a request for a new workflow: names never contain whitespace. The
 * caller still checks for an existing path.js, since a path may.
 */
export const looksLikeFreeText = (ref: string): boolean => /\s/.test(ref.trim());

export const SUBMIT_WORKFLOW: Anthropic.Tool = {
  name: SUBMIT_WORKFLOW_TOOL,
  description:
    'Submit the complete workflow script. It is validated at once; if it is invalid you get the line, column, problem and fix back, and must submit the whole corrected script again.',
  input_schema: {
    type: 'object',
    required: ['script'],
    properties: {
      script: {
        type: 'string',
        description: 'The whole script file as plain JavaScript (no Markdown fences), starting with `export const meta = { ... }`.',
      },
    },
    additionalProperties: false,
  },
};

export interface WorkflowSummary {
  name: string;
  description?: string;
  whenToUse?: string;
}

export interface GenerateOptions {
  /** The user's free text. */
  request: string;
  /** The run's `args`, so the script can be written to read them. */
  args: unknown;
  /** Resolved model id. */
  model: string;
  /** Where the script will be kept: validation errors point into this file. */
  file: string;
  /** Saved and built-in workflows the script may call with workflow(). */
  workflows?: WorkflowSummary[];
  apiKey?: string;
  baseURL?: string;
  /** The door's environment: its HTTP_PROXY, HTTPS_PROXY and NO_PROXY route the requests. None when absent. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  maxAttempts?: number;
  maxTokens?: number;
  /** Retries of a failed request (429, 5xx, connection errors) after the first attempt; default 2. */
  maxRetries?: number;
  /** Called after each rejected attempt, before the next one is requested. */
  onRejected?: (attempt: number, problem: string) => void;
}

export interface GeneratedWorkflow {
  /** Validated; its source starts with a comment naming the request, model and reference. */
  script: ValidatedScript;
  attempts: number;
  model: string;
  usage: Usage;
}

/** No attempt produced a valid script: a validation problem (exit 2), nothing was run. */
export class GenerationFailedError extends Error {
  readonly attempts: number;
  /** The last script the model submitted, with its header, if it submitted one. */
  readonly lastSource: string | null;
  readonly lastError: ScriptValidationError | null;
  readonly usage: Usage;

  constructor(attempts: number, problem: string, lastSource: string | null, lastError: ScriptValidationError | null, usage: Usage) {
    super(`the model did not write a valid workflow in ${attempts} attempt${attempts === 1 ? '' : 's'}; the last problem: ${problem}`);
    this.name = 'GenerationFailedError';
    this.attempts = attempts;
    this.lastSource = lastSource;
    this.lastError = lastError;
    this.usage = usage;
  }
}

/** The model could not be asked (API error, stopped): nothing was generated or run. */
export class GenerationApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationApiError';
  }
}

export async function generateWorkflow(options: GenerateOptions): Promise<GeneratedWorkflow> {
  const maxAttempts = options.maxAttempts ?? MAX_GENERATION_ATTEMPTS;
  // The agents' client: one request at a time, so its governor only paces the retries.
  const client = new ModelClient({ apiKey: options.apiKey, baseURL: options.baseURL, env: options.env, maxAttempts: (options.maxRetries ?? 2) + 1, governor: new RateGovernor(1) });
  const header = provenanceHeader(options.request, options.model);
  const headerLines = header.split('\n').length - 1;
  const usage = zeroUsage();
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: generationPrompt(options) }];
  const params = {
    model: options.model,
    max_tokens: options.maxTokens ?? 16_000,
    system: [{ type: 'text' as const, text: authoringReference(), cache_control: EPHEMERAL }],
    tools: [{ ...SUBMIT_WORKFLOW, cache_control: EPHEMERAL }],
    tool_choice: { type: 'tool' as const, name: SUBMIT_WORKFLOW_TOOL, disable_parallel_tool_use: true },
  };

  let lastProblem = 'no answer';
  let lastSource: string | null = null;
  let lastError: ScriptValidationError | null = null;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const response = await ask(client, { ...params, messages }, options);
    addUsage(usage, usageOf(response.usage));
    messages.push({ role: 'assistant', content: response.content.map(toParam) });

    const left = maxAttempts - attempt;
    const again = `Call ${SUBMIT_WORKFLOW_TOOL} again with the complete corrected script (${left} attempt${left === 1 ? '' : 's'} left).`;
    const uses = response.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    const submission = uses.find((use) => use.name === SUBMIT_WORKFLOW_TOOL);
    let feedback: string;

    if (response.stop_reason === 'max_tokens') {
      lastProblem = `the script was cut off at the output limit (${params.max_tokens} tokens)`;
      feedback = `Your answer was cut off at the output limit of ${params.max_tokens} tokens. Write a shorter script. ${again}`;
    } else if (!submission) {
      lastProblem = `the model answered without calling ${SUBMIT_WORKFLOW_TOOL}`;
      feedback = `Nobody reads plain text here: answer only by calling ${SUBMIT_WORKFLOW_TOOL} with { script }. ${again}`;
    } else {
      const script = scriptOf(submission.input);
      if (script === null) {
        lastProblem = `${SUBMIT_WORKFLOW_TOOL} was called without a \`script\` string`;
        feedback = `${SUBMIT_WORKFLOW_TOOL} needs { script: string } holding the whole file. ${again}`;
      } else {
        lastSource = header + script;
        try {
          const validated = validateScript(lastSource, options.file);
          return { script: validated, attempts: attempt, model: options.model, usage };
        } catch (error) {
          if (!(error instanceof ScriptValidationError)) throw error;
          lastError = error;
          lastProblem = error.message;
          // The model numbers lines from the start of what it wrote, without the header.
          const at = (problem: ScriptProblem) =>
            `line ${Math.max(1, problem.line - headerLines)}, column ${problem.column}: ${problem.problem}.\nFix: ${problem.fix}.\n`;
          // All the undefined names at once, so that one corrected attempt can fix every one.
          feedback = `The script is invalid at ${at(error)}${error.more.map((problem) => `Also at ${at(problem)}`).join('')}${again}`;
        }
      }
    }

    if (attempt < maxAttempts) options.onRejected?.(attempt, lastProblem);
    messages.push({ role: 'user', content: replyTo(uses, submission, feedback) });
  }
  throw new GenerationFailedError(maxAttempts, lastProblem, lastSource, lastError, usage);
}

/**
 * The API wants a result for every tool_use; the feedback rides on the submission's result
 * (flagged is_error, which is how the model knows to correct itself), other calls are refused.
 */
function replyTo(uses: Anthropic.ToolUseBlock[], submission: Anthropic.ToolUseBlock | undefined, feedback: string): Anthropic.ContentBlockParam[] {
  const results: Anthropic.ContentBlockParam[] = uses.map((use) => ({
    type: 'tool_result' as const,
    tool_use_id: use.id,
    is_error: true,
    content: use === submission ? feedback : `There is no tool ${use.name}; only ${SUBMIT_WORKFLOW_TOOL} exists.`,
  }));
  if (!submission) results.push({ type: 'text', text: feedback });
  return results;
}

function scriptOf(input: unknown): string | null {
  const script = (input as { script?: unknown } | null)?.script;
  if (typeof script !== 'string' || script.trim() === '') return null;
  // Models sometimes fence code out of habit; the fence is not the script's fault.
  const fenced = /^\s*```[a-z]*\n([\s\S]*?)\n```\s*$/i.exec(script);
  return (fenced ? fenced[1] : script).replace(/^\n+/, '').replace(/\s*$/, '\n');
}

/** Prepended to the script: saved with it, it tells a reader where the workflow came from. */
function provenanceHeader(request: string, model: string): string {
  // \u2028 and \u2029 end a line comment too, so they must start a new `//` line.
  const quoted = request.trim().split(/\r\n|[\n\r\u2028\u2029]/).map((line) => `//   ${line}`.trimEnd());
  return [`// Written by Foreman (authoring reference ${AUTHORING_REFERENCE_VERSION}, ${model}) for the request:`, ...quoted, ''].join('\n');
}

export function generationPrompt(options: Pick<GenerateOptions, 'request' | 'args' | 'workflows'>): string {
  const lines = ['Write a Foreman workflow script for this request:', '', '<request>', options.request.trim(), '</request>', ''];
  if (options.args === null || options.args === undefined) {
    lines.push('The user passed no args: `args` is null when the script runs.');
  } else {
    lines.push(`The script runs with this value as \`args\` (JSON): ${JSON.stringify(options.args)}`);
  }
  const workflows = options.workflows ?? [];
  if (workflows.length > 0) {
    lines.push('', 'Saved workflows the script may call with workflow(name, args) when one fits:');
    for (const w of workflows) {
      lines.push(`- ${w.name}${w.description ? `: ${w.description}` : ''}${w.whenToUse ? ` (${w.whenToUse})` : ''}`);
    }
  }
  lines.push('', `Answer by calling ${SUBMIT_WORKFLOW_TOOL}.`);
  return lines.join('\n');
}

async function ask(client: ModelClient, params: Anthropic.MessageCreateParamsNonStreaming, options: GenerateOptions): Promise<Anthropic.Message> {
  try {
    return await client.callModel(params, { signal: options.signal ?? new AbortController().signal });
  } catch (error) {
    throw new GenerationApiError(describeApiFailure(error, options));
  }
}

/** The client's reason, with what the one who asked for the workflow can do about it. */
function describeApiFailure(error: unknown, options: GenerateOptions): string {
  const nothing = 'nothing was run';
  if (!(error instanceof ModelCallError)) return `writing the workflow failed: ${error instanceof Error ? error.message : String(error)}; ${nothing}: try again`;
  if (error.aborted || options.signal?.aborted) return `stopped while the model was writing the workflow; ${nothing}`;
  if (error.status === 404) {
    return `the Anthropic API does not know model "${options.model}" (404); ${nothing}: pass --model with a valid model id or alias, or fix models.default in .github/foreman.yml. ${error.message}`;
  }
  // A refusal for good already names its fix (the key, the request); anything else may pass.
  return error.status !== undefined ? `could not write the workflow: ${error.message}; ${nothing}` : `could not write the workflow: ${error.message}; ${nothing}: check the network and ANTHROPIC_BASE_URL, then try again`;
}
