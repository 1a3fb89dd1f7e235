// One agent's conversation: send, run the tools the model asked for, repeat until it answers,
// is stopped, or burns its fuse. How a model request is made (retries, rate limits) is the
// client's business; this file only sees `CallModel`.

import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { costUsd, type ModelTable } from '../runtime/pricing.ts';
import { addUsage, zeroUsage, type Usage } from '../contracts/usage.ts';
import { type AgentOutcome, type AgentRequest, type AgentStatus, type ToolCallRecord, type Transcript } from '../contracts/ports.ts';
import type { CacheWarmup } from './cache-warmup.ts';
import { agentCacheTtl } from './cache-ttl.ts';
import { effortRequest } from './effort.ts';
import {
  firstMessage,
  framingPrompt,
  estimateTokens,
  minimumCacheableTokens,
  type CacheTtl,
  invalidResultMessage,
  MAX_RESULT_ATTEMPTS,
  SUBMIT_RESULT_TOOL,
  submitNudge,
  submitResultTool,
  systemBlocks,
  withCachedConversation,
  withCachedTools,
} from './prompts.ts';
import { executeTool, isMutatingTool, offeredTools, type CommandSettings, type ToolContext, type ToolResult } from './tools.ts';
import { SchemaCheckStopped, SchemaError, SchemaValidator } from './schema-validator.ts';
import { RequestShapes } from './request-shapes.ts';
import type { SharedPrefix, SharedPrefixes } from './shared-prefix.ts';
import type { ProjectMemory } from './project-memory.ts';
import { NO_WEB, webServerTools, webToolRecords, webUsageOf, type WebServerTool, type WebSettings } from './web-tools.ts';

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
  /** The HTTP status of a request the API refused for good (401, 404, …); absent otherwise. */
  readonly status: number | undefined;
  constructor(message: string, aborted = false, status?: number) {
    super(message);
    this.name = 'ModelCallError';
    this.aborted = aborted;
    this.status = status;
  }
}

export interface AgentLoopDeps extends CommandSettings {
  callModel: CallModel;
  models: ModelTable;
  warmup: CacheWarmup;
  maxTurns: number;
  maxTokens: number;
  /** Overrides every model's minimum cacheable prefix (tokens); by default the API's per model. */
  minCacheablePrefixTokens?: number;
  /** The run's prompts' shared prefixes (shared-prefix.ts); one per run. None: no prompt is split. */
  prefixes?: SharedPrefixes;
  /** The TTL the run's shared breakpoints start with (cache-ttl.ts); 5 minutes when absent. */
  cacheTtl?: CacheTtl;
  /** Checks answers against schemas off the main thread; one per run. */
  schemas: SchemaValidator;
  /** The run's CLAUDE.md files, loaded once: in every agent's cached system prefix. */
  projectMemory?: ProjectMemory;
  /** The run's web access (`agents.web`); none when absent. */
  web?: WebSettings;
  /** What the run's agents of one kind send alike, built once (request-shapes.ts); one per run. */
  shapes?: AgentShapes;
}

/** The system prompt an agent of one kind gets, and the server tools it is offered. */
interface SystemShape {
  web: WebServerTool[];
  system: Anthropic.TextBlockParam[];
  transcript: string;
}

/** The tools of one kind of agent, with the prompt-cache keys of everything up to them. */
interface ToolShape {
  tools: Anthropic.ToolUnion[];
  /** The warm-up key when the agent's prompt shares nothing: the run's own shared text, if cacheable. */
  prefixKey: string | null;
  /** Names the system and tools: a shared prompt prefix's warm-up key is this and the prefix's id. */
  shapeHash: string;
  /** Estimated tokens of the system and tools, which the API caches before any prompt prefix. */
  shapeTokens: number;
}

export interface AgentShapes {
  systems: RequestShapes<SystemShape>;
  tools: RequestShapes<ToolShape>;
}

export const agentShapes = (): AgentShapes => ({ systems: new RequestShapes(), tools: new RequestShapes() });

/**
 * How long the first agent of a possible burst waits for its next sibling's call: a script's calls
 * arrive a turn of the event loop apart, well within it; an agent with no sibling coming pays it
 * once, against a model call of seconds.
 */
const SIBLING_WAIT_MS = 10;

/** Tool inputs and outputs are stored this long in transcripts. */
const TRANSCRIPT_CHARS = 4_096;

export async function runAgentLoop(request: AgentRequest, deps: AgentLoopDeps): Promise<AgentOutcome> {
  // An agent type without a write tool (Explore, Plan) is a reader, and is framed as one.
  const write = request.write === true && (request.tools === undefined || request.tools.some((name) => isMutatingTool(name)));
  const shared = write && request.shared === true;
  // The next call of a burst, where it may give this prompt a prefix (shared-prefix.ts).
  if (deps.prefixes?.mayShareSoon(request.prompt)) await deps.prefixes.nextNote(SIBLING_WAIT_MS);
  const prefix = deps.prefixes?.use(request.prompt) ?? null;
  const ttl = agentCacheTtl(deps.cacheTtl ?? '5m', prefix);
  // Everything else the shape reads (commands, web settings, memory) is the run's, like `shapes`.
  const systemKey = JSON.stringify([request.schema !== undefined, write, shared, request.tools ?? null, request.systemPrompt ?? null, ttl]);
  const { web, system, transcript } = (deps.shapes ?? agentShapes()).systems.shapeOf(systemKey, () => {
    const web = webServerTools(deps.web ?? NO_WEB, request.tools);
    const framing = framingPrompt({ schema: request.schema !== undefined, write, shared, commands: deps.commands, web: web.map((tool) => tool.name) });
    const system = systemBlocks(framing, deps.projectMemory?.text, request.systemPrompt, ttl);
    return { web, system, transcript: transcriptSystem(system, deps.projectMemory) };
  });
  const outcome = new Outcome(request, deps.models, transcript);
  try {
    // Compiled before the first model call: a schema that is invalid or too slow costs nothing.
    let schemaJson: string | undefined;
    if (request.schema) {
      try {
        schemaJson = SchemaValidator.serialise(request.schema);
        await deps.schemas.compile(schemaJson, request.signal);
      } catch (error) {
        if (error instanceof SchemaCheckStopped) return outcome.finish('stopped', null, stopRequested(request) ?? 'stopped');
        if (error instanceof SchemaError) return outcome.finish('error', null, error.message);
        throw error;
      }
    }
    return await converse(request, deps, outcome, { system, systemKey, write, schemaJson, web, prefix, ttl });
  } catch (error) {
    // run() must resolve: an unexpected failure is this agent's error, not the run's crash.
    return outcome.finish('error', null, `agent failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What an agent has spent and said so far, and the outcome it ends with. */
class Outcome {
  readonly transcript: Transcript;
  readonly usage = zeroUsage();
  turns = 0;
  /** A tool that writes or runs commands was called (AgentOutcome.wrote). */
  wrote = false;
  readonly #startedAt = performance.now();
  readonly #request: AgentRequest;
  readonly #models: ModelTable;

  constructor(request: AgentRequest, models: ModelTable, system: string) {
    this.#request = request;
    this.#models = models;
    this.transcript = { system, prompt: request.prompt, turns: [], final: null };
  }

  /** Counts one model response: its usage is the agent's and is reported at once. */
  addTurn(response: Anthropic.Message): void {
    this.turns += 1;
    const turnUsage = usageOf(response.usage);
    addUsage(this.usage, turnUsage);
    this.#request.onUsage(turnUsage, this.#request.model);
  }

  finish(status: AgentStatus, result: unknown, error?: string): AgentOutcome {
    this.transcript.final = status === 'done' ? result : null;
    return {
      status,
      result: status === 'done' ? result : null,
      ...(error !== undefined ? { error } : {}),
      usage: this.usage,
      costUsd: costUsd(this.#models, this.#request.model, this.usage),
      turns: this.turns,
      elapsedMs: Math.round(performance.now() - this.#startedAt),
      transcript: this.transcript,
      ...(this.wrote ? { wrote: true } : {}),
    };
  }
}

interface Conversation {
  system: Anthropic.TextBlockParam[];
  /** What names the system shape, for the key of the tool shape built on it. */
  systemKey: string;
  write: boolean;
  /** The result schema, compiled; undefined when the agent answers in text. */
  schemaJson: string | undefined;
  /** The server tools (web search, web fetch) the agent is offered; the API runs them. */
  web: WebServerTool[];
  /** The text the prompt shares with its siblings, or null. */
  prefix: SharedPrefix | null;
  /** The TTL of the agent's shared breakpoints. */
  ttl: CacheTtl;
}

/**
 * One kind of agent's tools, and the key its siblings wait on for their leader's response when
 * their prompts share nothing (cache-warmup.ts), or null: no wait. The
 * wait costs the first wave of a fan-out one model latency of wall time, and saves that wave's
 * cache writes. Foreman's own framing and tool definitions (about 1,400 tokens) are cached but not
 * worth it: at most `concurrency` agents write them at once, and every later agent reads them.
 * The run's own shared text is: project memory or an agent type's prompt of a cacheable size.
 */
function toolShape(request: AgentRequest, deps: AgentLoopDeps, { system, write, web, ttl }: Conversation, toolsBreakpoint: boolean): ToolShape {
  const offered = [...offeredTools(write, request.tools), ...(request.schema ? [submitResultTool(request.schema)] : []), ...web];
  const tools = toolsBreakpoint ? withCachedTools(offered, ttl) : offered;
  const shape = JSON.stringify(system) + JSON.stringify(tools);
  const shapeHash = hashOf([request.model, shape]);
  return { tools, shapeHash, shapeTokens: estimateTokens(shape), prefixKey: estimateTokens(runSharedText(request, deps)) < minimumFor(request.model, deps) ? null : shapeHash };
}

/** The API's limit of cache_control blocks in one request. */
const MAX_BREAKPOINTS = 4;
/** Besides the system's: the tools', the shared prompt prefix's and the conversation's. */
const SPLIT_BREAKPOINTS = 3;

const minimumFor = (model: string, deps: AgentLoopDeps): number => deps.minCacheablePrefixTokens ?? minimumCacheableTokens(model);

/**
 * The agent's tools, its first message, and the key its first request waits on for a warm-up
 * leader (null: no wait). A prompt is split at the text it shares with its siblings when the
 * framing, the tools and that text together reach the model's minimum; the leader of that prefix
 * writes it, and its siblings read it. With a split, a type prompt's system breakpoint and the
 * conversation's moving one, the tools' breakpoint goes: the API allows four, and the prefix's
 * entry covers the tools anyway.
 */
function requestShape(request: AgentRequest, deps: AgentLoopDeps, conversation: Conversation): { tools: Anthropic.ToolUnion[]; first: Anthropic.MessageParam; prefixKey: string | null } {
  const { systemKey, schemaJson, prefix, system, ttl } = conversation;
  const shapes = (deps.shapes ?? agentShapes()).tools;
  const shapeOf = (toolsBreakpoint: boolean) => shapes.shapeOf(JSON.stringify([systemKey, request.model, schemaJson ?? null, toolsBreakpoint]), () => toolShape(request, deps, conversation, toolsBreakpoint));
  let shape = shapeOf(true);
  const minimum = minimumFor(request.model, deps);
  const split = prefix !== null && splittable(request.prompt, prefix.text) && shape.shapeTokens + estimateTokens(prefix.text) >= minimum ? prefix : null;
  if (!split) return { tools: shape.tools, first: firstMessage(request.prompt, null, ttl), prefixKey: shape.prefixKey };
  if (system.length + SPLIT_BREAKPOINTS > MAX_BREAKPOINTS) shape = shapeOf(false);
  // Waited for only when the run's own shared text is worth it: Foreman's framing and tools alone are not (see toolShape).
  const worthWaiting = estimateTokens(runSharedText(request, deps)) + estimateTokens(split.text) >= minimum;
  return { tools: shape.tools, first: firstMessage(request.prompt, split.text, ttl), prefixKey: worthWaiting ? `${shape.shapeHash}:${split.id}` : shape.prefixKey };
}

/** The API refuses a text block of whitespace alone: a prompt that is its prefix and a line break goes whole. */
function splittable(prompt: string, prefix: string): boolean {
  if (prompt.length === prefix.length) return true;
  // Looked at from the cut, not trimmed: the rest of a long prompt is not copied for this.
  for (let i = prefix.length; i < prompt.length; i++) if (!/\s/.test(prompt[i]!)) return true;
  return false;
}

/** What the run shares besides Foreman's own framing: the project memory and the agent type's prompt. */
const runSharedText = (request: AgentRequest, deps: AgentLoopDeps): string => (deps.projectMemory?.text ?? '') + (request.systemPrompt ?? '');

/** Send, run the tools asked for, repeat: until an answer, a stop, or the turn fuse. */
async function converse(request: AgentRequest, deps: AgentLoopDeps, outcome: Outcome, conversation: Conversation): Promise<AgentOutcome> {
  const { system, write, schemaJson } = conversation;
  const { tools, first, prefixKey } = requestShape(request, deps, conversation);
  const toolContext = toolContextOf(request, deps, write);
  const effort = effortRequest(request.model, request.effort);
  if (effort.warning) request.warn?.(effort.warning.key, effort.warning.message);
  const baseParams = {
    model: request.model,
    max_tokens: deps.maxTokens,
    system,
    tools,
    ...(effort.outputConfig ? { output_config: effort.outputConfig } : {}),
  };
  const maxTurns = request.maxTurns ?? deps.maxTurns;
  const messages: Anthropic.MessageParam[] = [first];
  const submissions = schemaJson === undefined ? null : new Submissions(schemaJson, request.signal, deps.schemas);
  // The text of responses the API paused mid-turn (long web work): the answer goes on from it.
  let pausedText = '';

  while (true) {
    const stopReason = stopRequested(request);
    if (stopReason !== null) return outcome.finish('stopped', null, stopReason);
    if (outcome.turns >= maxTurns) {
      return outcome.finish('error', null, `agent exceeded ${maxTurns} turns: raise the fuse with agent(prompt, { maxTurns }) or config limits.maxTurns (--max-turns)`);
    }

    const params = { ...baseParams, messages: withCachedConversation(messages) };
    let response: Anthropic.Message;
    try {
      response = outcome.turns === 0 && prefixKey !== null ? await firstRequest(params, prefixKey, request, deps) : await deps.callModel(params, { signal: request.signal });
    } catch (error) {
      if (!(error instanceof ModelCallError)) throw error;
      return error.aborted ? outcome.finish('stopped', null, stopRequested(request) ?? error.message) : outcome.finish('error', null, error.message);
    }
    outcome.addTurn(response);

    const turnText = response.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
    const toolUses = response.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    const turnRecord: { text: string; toolCalls: ToolCallRecord[] } = { text: turnText, toolCalls: webToolRecords(response.content) };
    outcome.transcript.turns.push(turnRecord);
    messages.push({ role: 'assistant', content: response.content.map(toParam) });
    const text = [pausedText, turnText].filter(Boolean).join('\n');
    pausedText = '';

    // The API stopped a long turn of server tool work: sent back as it is, the turn goes on.
    if (response.stop_reason === 'pause_turn' && toolUses.length === 0) {
      pausedText = text;
      continue;
    }
    if (toolUses.length === 0) {
      if (!submissions) return outcome.finish('done', text);
      if (submissions.answeredInText()) return outcome.finish('schema-failed', null, submissions.failure());
      messages.push({ role: 'user', content: submitNudge(submissions.attemptsLeft) });
      continue;
    }

    if (write && toolUses.some((use) => isMutatingTool(use.name))) outcome.wrote = true;
    const results = await runTools(toolUses, (use) =>
      use.name === SUBMIT_RESULT_TOOL && submissions ? submissions.submit(use.input) : executeTool(use.name, use.input, toolContext),
    );
    toolUses.forEach((use, i) => turnRecord.toolCalls.push(toolCallRecord(use, results[i])));

    if (submissions?.accepted) return outcome.finish('done', submissions.accepted.value);
    if (submissions?.uncheckable !== undefined) return outcome.finish('error', null, submissions.uncheckable);
    if (submissions?.exhausted) return outcome.finish('schema-failed', null, submissions.failure());
    messages.push({
      role: 'user',
      content: toolUses.map((use, i) => ({ type: 'tool_result' as const, tool_use_id: use.id, content: results[i].output, ...(results[i].isError ? { is_error: true } : {}) })),
    });
  }
}

/**
 * The tools an agent's type restricts it to (`AgentRequest.tools`, which agent types bring);
 * undefined when the agent has no such list and gets every tool the run allows.
 */

function toolContextOf(request: AgentRequest, deps: AgentLoopDeps, write: boolean): ToolContext {
  return {
    root: request.root,
    write,
    ...(request.tools ? { tools: request.tools } : {}),
    commands: deps.commands,
    ...(request.commands ? { typeCommands: request.commands } : {}),
    commandTimeoutMs: deps.commandTimeoutMs,
    commandEnv: deps.commandEnv,
    commandSecrets: deps.commandSecrets,
    processLedger: deps.processLedger,
    ...(deps.sandbox ? { sandbox: deps.sandbox } : {}),
    signal: request.signal,
  };
}

/**
 * Reads are independent of each other and run concurrently. A turn that edits or runs commands
 * runs in the order the model wrote it: "edit, then test" must test the edit, and two edits of
 * one file must not race.
 */
async function runTools(toolUses: Anthropic.ToolUseBlock[], runTool: (use: Anthropic.ToolUseBlock) => ToolResult | Promise<ToolResult>): Promise<ToolResult[]> {
  if (!toolUses.some((use) => isMutatingTool(use.name))) return Promise.all(toolUses.map(runTool));
  const results: ToolResult[] = [];
  for (const use of toolUses) results.push(await runTool(use));
  return results;
}

/** The agent's answers to submit_result, checked against the schema one at a time. */
class Submissions {
  accepted: { value: unknown } | undefined;
  /** Why the answer could not be checked at all (e.g. the schema's pattern overran): the agent fails. */
  uncheckable: string | undefined;
  #failedAttempts = 0;
  #lastValidationErrors = '';
  #submitted: Promise<unknown> = Promise.resolve();
  readonly #schemaJson: string;
  readonly #signal: AbortSignal;
  readonly #schemas: SchemaValidator;

  constructor(schemaJson: string, signal: AbortSignal, schemas: SchemaValidator) {
    this.#schemaJson = schemaJson;
    this.#signal = signal;
    this.#schemas = schemas;
  }

  get attemptsLeft(): number {
    return MAX_RESULT_ATTEMPTS - this.#failedAttempts;
  }

  get exhausted(): boolean {
    return this.#failedAttempts >= MAX_RESULT_ATTEMPTS;
  }

  /** A turn that answered in text instead of submitting costs an attempt; true when none are left. */
  answeredInText(): boolean {
    this.#failedAttempts += 1;
    return this.exhausted;
  }

  failure(): string {
    return schemaFailure(this.#lastValidationErrors);
  }

  /** One answer at a time, in the order the model gave them: the first valid one is the result. */
  submit(input: unknown): Promise<ToolResult> {
    const result = this.#submitted.then(() => this.#check(input));
    this.#submitted = result.catch(() => {});
    return result;
  }

  async #check(input: unknown): Promise<ToolResult> {
    if (this.accepted) return { output: 'A result was already accepted.', isError: false };
    if (this.uncheckable !== undefined || this.exhausted) return { output: 'No attempts are left.', isError: true };
    let errors: string | null;
    try {
      errors = await this.#schemas.check(this.#schemaJson, input, this.#signal);
    } catch (error) {
      // The loop sees the stop before the next turn.
      if (error instanceof SchemaCheckStopped) return { output: 'Stopped.', isError: true };
      if (!(error instanceof SchemaError)) throw error;
      this.uncheckable = error.message;
      return { output: `The result could not be checked: ${error.message}`, isError: true };
    }
    if (errors === null) {
      this.accepted = { value: input };
      return { output: 'Result accepted.', isError: false };
    }
    this.#failedAttempts += 1;
    this.#lastValidationErrors = errors;
    return { output: invalidResultMessage(errors, this.attemptsLeft), isError: true };
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

/**
 * The system prompt as a transcript keeps it: the project memory, the same for every agent of the
 * run, is named rather than copied into each of a thousand transcripts.
 */
function transcriptSystem(blocks: readonly Anthropic.TextBlockParam[], memory: ProjectMemory | undefined): string {
  const text = blocks.map((block) => block.text).join('\n\n');
  return memory ? text.replace(memory.text, `[project memory: ${memory.files.join(', ')}]`) : text;
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

/** The API's usage figures in Foreman's terms, the web searches and fetches it ran included. */
export function usageOf(usage: Anthropic.Usage): Usage {
  // The split by TTL; an API (or stand-in) that omits it wrote everything with the 5-minute TTL.
  const oneHour = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    input: usage.input_tokens ?? 0,
    output: usage.output_tokens ?? 0,
    cacheRead: usage.cache_read_input_tokens ?? 0,
    cacheWrite: usage.cache_creation_input_tokens ?? 0,
    ...(oneHour > 0 ? { cacheWrite1h: oneHour } : {}),
    ...webUsageOf(usage),
  };
}

/** Response blocks as request blocks, without the SDK's streaming bookkeeping. */
export function toParam(block: Anthropic.ContentBlock): Anthropic.ContentBlockParam {
  switch (block.type) {
    case 'text':
      // Citations of web results stay: a paused turn must go back as it came.
      return { type: 'text', text: block.text, ...(block.citations ? { citations: block.citations as Anthropic.TextCitationParam[] } : {}) };
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
