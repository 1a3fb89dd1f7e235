// One agent's conversation: send, run the tools the model asked for, repeat until it answers,
// is stopped, or burns its fuse. How a model request is made (retries, rate limits) is the
// client's business; this file only sees `CallModel`.

import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { costUsd, type ModelTable } from '../runtime/pricing.ts';
import {
  addUsage,
  zeroUsage,
  type AgentOutcome,
  type AgentRequest,
  type AgentStatus,
  type ToolCallRecord,
  type Transcript,
  type Usage,
} from '../runtime/types.ts';
import type { CacheWarmup } from './cache-warmup.ts';
import {
  framingPrompt,
  estimateTokens,
  invalidResultMessage,
  MAX_RESULT_ATTEMPTS,
  SUBMIT_RESULT_TOOL,
  submitNudge,
  submitResultTool,
  systemBlocks,
  withCachedConversation,
  withCachedTools,
} from './prompts.ts';
import { executeTool, isMutatingTool, READ_TOOLS, WRITE_TOOLS, type ToolContext, type ToolResult } from './tools.ts';
import type { ProcessLedger } from '../workspace/process-ledger.ts';
import type { SandboxChoice } from '../workspace/sandbox.ts';
import { SchemaCheckStopped, SchemaError, SchemaValidator } from './schema-validator.ts';

export interface ModelCallOptions {
  signal: AbortSignal;
  /** Called once, when the response starts streaming (its first event). */
  onFirstEvent?: () => void;
}

/** Makes one model request, retrying as it sees fit; throws ModelCallError when it gives up. */
export type CallModel = (
  params: Anthropic.MessageCreateParamsNonStreaming,
  options: ModelCallOptions,
) => Promise<Anthropic.Message>;

export class ModelCallError extends Error {
  /** The request was aborted through the agent's signal: the agent is stopped, not failed. */
  readonly aborted: boolean;
  constructor(message: string, aborted = false) {
    super(message);
    this.name = 'ModelCallError';
    this.aborted = aborted;
  }
}

export interface AgentLoopDeps {
  callModel: CallModel;
  models: ModelTable;
  warmup: CacheWarmup;
  maxTurns: number;
  maxTokens: number;
  minCacheablePrefixTokens: number;
  /** Patterns of the commands write agents may run (`agents.commands`); none when absent. */
  commands?: readonly string[];
  /** Timeout of one run_command. */
  commandTimeoutMs?: number;
  /** The environment run_command starts from, before secrets are removed; default process.env. */
  commandEnv?: NodeJS.ProcessEnv;
  /** Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command runs. */
  commandSecrets?: readonly string[];
  processLedger?: ProcessLedger;
  sandbox?: SandboxChoice;
  /** Checks answers against schemas off the main thread; one per run. */
  schemas: SchemaValidator;
}

/** Tool inputs and outputs are stored this long in transcripts. */
const TRANSCRIPT_CHARS = 4_096;

export async function runAgentLoop(request: AgentRequest, deps: AgentLoopDeps): Promise<AgentOutcome> {
  const startedAt = performance.now();
  const schema = request.schema;
  const write = request.write === true;
  const system = framingPrompt({ schema: schema !== undefined, write, commands: deps.commands });
  const transcript: Transcript = { system, prompt: request.prompt, turns: [], final: null };
  const usage = zeroUsage();
  let turns = 0;

  const finish = (status: AgentStatus, result: unknown, error?: string): AgentOutcome => {
    transcript.final = status === 'done' ? result : null;
    return {
      status,
      result: status === 'done' ? result : null,
      ...(error !== undefined ? { error } : {}),
      usage,
      costUsd: costUsd(deps.models, request.model, usage),
      turns,
      elapsedMs: Math.round(performance.now() - startedAt),
      transcript,
    };
  };

  try {
    // Compiled before the first model call: a schema that is invalid or too slow costs nothing.
    let schemaJson: string | undefined;
    if (schema) {
      try {
        schemaJson = SchemaValidator.serialise(schema);
        await deps.schemas.compile(schemaJson, request.signal);
      } catch (error) {
        if (error instanceof SchemaCheckStopped) return finish('stopped', null, stopRequested(request) ?? 'stopped');
        if (error instanceof SchemaError) return finish('error', null, error.message);
        throw error;
      }
    }
    const tools = withCachedTools([...READ_TOOLS, ...(write ? WRITE_TOOLS : []), ...(schema ? [submitResultTool(schema)] : [])]);
    const toolContext: ToolContext = {
      root: request.root,
      write,
      commands: deps.commands,
      commandTimeoutMs: deps.commandTimeoutMs,
      commandEnv: deps.commandEnv,
      commandSecrets: deps.commandSecrets,
      processLedger: deps.processLedger,
      ...(deps.sandbox ? { sandbox: deps.sandbox } : {}),
      signal: request.signal,
    };
    const baseParams = { model: request.model, max_tokens: deps.maxTokens, system: systemBlocks(system), tools };
    // The shared prefix is serialised once; only a prefix long enough to be cached gets a warm-up key.
    const prefix = system + JSON.stringify(tools);
    const prefixKey = estimateTokens(prefix) >= deps.minCacheablePrefixTokens ? hashOf([request.model, prefix]) : null;
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: request.prompt }];
    let failedAttempts = 0;
    let lastValidationErrors = '';

    while (true) {
      const stopReason = stopRequested(request);
      if (stopReason !== null) return finish('stopped', null, stopReason);
      if (turns >= deps.maxTurns) return finish('error', null, `agent exceeded ${deps.maxTurns} turns`);

      const params = { ...baseParams, messages: withCachedConversation(messages) };
      let response: Anthropic.Message;
      try {
        response =
          turns === 0 && prefixKey !== null
            ? await firstRequest(params, prefixKey, request, deps)
            : await deps.callModel(params, { signal: request.signal });
      } catch (error) {
        if (error instanceof ModelCallError) {
          return error.aborted ? finish('stopped', null, stopRequested(request) ?? error.message) : finish('error', null, error.message);
        }
        throw error;
      }

      turns += 1;
      const turnUsage = usageOf(response.usage);
      addUsage(usage, turnUsage);
      request.onUsage(turnUsage, request.model);

      const text = response.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
      const toolUses = response.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
      const turnRecord: { text: string; toolCalls: ToolCallRecord[] } = { text, toolCalls: [] };
      transcript.turns.push(turnRecord);
      messages.push({ role: 'assistant', content: response.content.map(toParam) });

      if (toolUses.length === 0) {
        if (schemaJson === undefined) return finish('done', text);
        failedAttempts += 1;
        if (failedAttempts >= MAX_RESULT_ATTEMPTS) return finish('schema-failed', null, schemaFailure(lastValidationErrors));
        messages.push({ role: 'user', content: submitNudge(MAX_RESULT_ATTEMPTS - failedAttempts) });
        continue;
      }

      let accepted: { value: unknown } | undefined;
      /** Why the answer could not be checked at all (e.g. the schema's pattern overran): the agent fails. */
      let uncheckable: string | undefined;
      const submitResult = async (input: unknown): Promise<ToolResult> => {
        if (accepted) return { output: 'A result was already accepted.', isError: false };
        if (uncheckable !== undefined || failedAttempts >= MAX_RESULT_ATTEMPTS) return { output: 'No attempts are left.', isError: true };
        let errors: string | null;
        try {
          errors = await deps.schemas.check(schemaJson!, input, request.signal);
        } catch (error) {
          // The loop sees the stop before the next turn.
          if (error instanceof SchemaCheckStopped) return { output: 'Stopped.', isError: true };
          if (!(error instanceof SchemaError)) throw error;
          uncheckable = error.message;
          return { output: `The result could not be checked: ${error.message}`, isError: true };
        }
        if (errors === null) {
          accepted = { value: input };
          return { output: 'Result accepted.', isError: false };
        }
        failedAttempts += 1;
        lastValidationErrors = errors;
        return { output: invalidResultMessage(errors, MAX_RESULT_ATTEMPTS - failedAttempts), isError: true };
      };
      // One answer at a time, in the order the model gave them: the first valid one is the result.
      let submitted: Promise<unknown> = Promise.resolve();
      const submitInOrder = (input: unknown): Promise<ToolResult> => {
        const result = submitted.then(() => submitResult(input));
        submitted = result.catch(() => {});
        return result;
      };

      const runTool = (use: Anthropic.ToolUseBlock): ToolResult | Promise<ToolResult> =>
        use.name === SUBMIT_RESULT_TOOL && schemaJson !== undefined ? submitInOrder(use.input) : executeTool(use.name, use.input, toolContext);
      // Reads are independent of each other and run concurrently. A turn that edits or runs
      // commands runs in the order the model wrote it: "edit, then test" must test the edit, and
      // two edits of one file must not race.
      let results: ToolResult[];
      if (toolUses.some((use) => isMutatingTool(use.name))) {
        results = [];
        for (const use of toolUses) results.push(await runTool(use));
      } else {
        results = await Promise.all(toolUses.map(runTool));
      }
      toolUses.forEach((use, i) => turnRecord.toolCalls.push(toolCallRecord(use, results[i])));

      if (accepted) return finish('done', accepted.value);
      if (uncheckable !== undefined) return finish('error', null, uncheckable);
      if (failedAttempts >= MAX_RESULT_ATTEMPTS) return finish('schema-failed', null, schemaFailure(lastValidationErrors));
      messages.push({
        role: 'user',
        content: toolUses.map((use, i) => ({
          type: 'tool_result' as const,
          tool_use_id: use.id,
          content: results[i].output,
          ...(results[i].isError ? { is_error: true } : {}),
        })),
      });
    }
  } catch (error) {
    // run() must resolve: an unexpected failure is this agent's error, not the run's crash.
    return finish('error', null, `agent failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The first request of an agent goes through the prompt-cache warm-up: the first agent with
 * this prefix sends at once, the others wait until its response starts.
 */
async function firstRequest(
  params: Anthropic.MessageCreateParamsNonStreaming,
  prefixKey: string,
  request: AgentRequest,
  deps: AgentLoopDeps,
): Promise<Anthropic.Message> {
  const ticket = await deps.warmup.enter(prefixKey, request.signal);
  try {
    return await deps.callModel(params, { signal: request.signal, ...(ticket.leader ? { onFirstEvent: ticket.started } : {}) });
  } finally {
    ticket.started(); // a leader that failed must not hold its followers for the full wait
  }
}

function stopRequested(request: AgentRequest): string | null {
  if (request.signal.aborted) return describeAbort(request.signal.reason);
  return request.shouldStop();
}

function describeAbort(reason: unknown): string {
  if (typeof reason === 'string' && reason !== '') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError' && reason.message) return reason.message;
  return 'stopped';
}

function usageOf(usage: Anthropic.Usage): Usage {
  return {
    input: usage.input_tokens ?? 0,
    output: usage.output_tokens ?? 0,
    cacheRead: usage.cache_read_input_tokens ?? 0,
    cacheWrite: usage.cache_creation_input_tokens ?? 0,
  };
}

/** Response blocks as request blocks, without the SDK's streaming bookkeeping. */
export function toParam(block: Anthropic.ContentBlock): Anthropic.ContentBlockParam {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    default:
      // Thinking and other blocks must go back verbatim (signatures included).
      return block as unknown as Anthropic.ContentBlockParam;
  }
}

function toolCallRecord(use: Anthropic.ToolUseBlock, result: ToolResult): ToolCallRecord {
  const inputJson = JSON.stringify(use.input) ?? '';
  return {
    name: use.name,
    input: inputJson.length > TRANSCRIPT_CHARS ? truncate(inputJson) : use.input,
    output: truncate(result.output),
    isError: result.isError,
  };
}

const truncate = (text: string): string =>
  text.length > TRANSCRIPT_CHARS ? `${text.slice(0, TRANSCRIPT_CHARS)}… [${text.length - TRANSCRIPT_CHARS} more characters]` : text;

const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function schemaFailure(lastErrors: string): string {
  const detail = lastErrors ? `; last validation errors:\n${lastErrors}` : '';
  return `agent did not submit a valid result in ${MAX_RESULT_ATTEMPTS} attempts${detail}`;
}
