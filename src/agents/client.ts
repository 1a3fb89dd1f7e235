// The AgentRunner the engine uses: the Anthropic SDK client, with retries done here rather than
// in the SDK so that rate limits (429/529) feed the run's shared RateGovernor.

import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic, { AnthropicError, APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ModelTable } from '../runtime/pricing.ts';
import type { AgentOutcome, AgentRequest, AgentRunner } from '../runtime/types.ts';
import { CacheWarmup } from './cache-warmup.ts';
import { createTransport, type Transport } from './http.ts';
import { MIN_CACHEABLE_PREFIX_TOKENS } from './prompts.ts';
import { jitteredBackoffMs, RateGovernor, retryAfterMsFromHeaders } from './governor.ts';
import { ModelCallError, runAgentLoop, type CallModel, type ModelCallOptions } from './loop.ts';
import { SchemaValidator } from './schema-validator.ts';
import type { ProcessLedger } from '../workspace/process-ledger.ts';
import type { SandboxChoice } from '../workspace/sandbox.ts';

export interface AnthropicAgentRunnerOptions {
  /** Defaults to ANTHROPIC_API_KEY (read by the SDK). */
  apiKey?: string;
  /** Defaults to ANTHROPIC_BASE_URL (read by the SDK), else the Anthropic API. */
  baseURL?: string;
  models: ModelTable;
  /** Model responses per agent before it is failed (turn fuse). */
  maxTurns?: number;
  /** max_tokens of each response. */
  maxTokens?: number;
  /** Attempts per model request, the first included. */
  maxAttempts?: number;
  /** Shared by all agents of a run; one is made (16 in flight) when absent. */
  governor?: RateGovernor;
  /** First back-off delay for retried 408/409/5xx and connection errors. */
  retryBaseDelayMs?: number;
  /** Longest an agent waits for a prompt-cache warm-up by an agent with the same prefix. */
  cacheWarmupMaxWaitMs?: number;
  /** Shortest shared prefix (estimated tokens) worth a warm-up wait; the API caches nothing shorter. */
  minCacheablePrefixTokens?: number;
  /** Commands write agents may run with run_command (`agents.commands`); none when absent. */
  commands?: readonly string[];
  /** Timeout of one run_command (`agents.commandTimeoutMs`); default 120000. */
  commandTimeoutMs?: number;
  /** The door's environment: its HTTP_PROXY, HTTPS_PROXY and NO_PROXY route the API requests. None when absent. */
  env?: NodeJS.ProcessEnv;
  /** The environment run_command starts from; secrets are removed before a command runs. None when absent. */
  commandEnv?: NodeJS.ProcessEnv;
  /** Secrets Foreman holds (tokens): a variable whose value contains one is removed before a command runs. */
  commandSecrets?: readonly string[];
  /** Where run_command's processes are written down while they run (`$FOREMAN_HOME/processes`). */
  processLedger?: ProcessLedger;
  /** The sandbox run_command runs in (default: detected). */
  sandbox?: SandboxChoice;
}

/**
 * Sends one request through the SDK to an answer made up in this process. Called while a run
 * waits for git to check out its base: the first wave of agents then finds the SDK's request
 * path compiled and its lazy set-up done, instead of paying for both before its requests can
 * leave (about 15 ms on the bench machine).
 */
export async function warmRequestPath(): Promise<void> {
  const answer = JSON.stringify({ id: 'msg_warmup', type: 'message', role: 'assistant', model: 'warmup', content: [{ type: 'text', text: '' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } });
  const client = new Anthropic({ apiKey: 'warmup', baseURL: 'http://warmup.invalid', maxRetries: 0, fetch: async () => new Response(answer, { headers: { 'content-type': 'application/json' } }) });
  await client.messages.create({
    model: 'warmup',
    max_tokens: 1,
    system: [{ type: 'text', text: 'warmup', cache_control: { type: 'ephemeral' } }],
    tools: [{ name: 'warmup', description: 'warmup', input_schema: { type: 'object', properties: {} } }],
    messages: [{ role: 'user', content: 'warmup' }],
  });
}

export class AnthropicAgentRunner implements AgentRunner {
  readonly governor: RateGovernor;
  readonly #client: Anthropic;
  readonly #transport: Transport;
  readonly #warmup: CacheWarmup;
  readonly #models: ModelTable;
  readonly #maxTurns: number;
  readonly #maxTokens: number;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #minCacheablePrefixTokens: number;
  readonly #commands: readonly string[];
  readonly #commandTimeoutMs: number | undefined;
  readonly #commandEnv: NodeJS.ProcessEnv | undefined;
  readonly #commandSecrets: readonly string[] | undefined;
  readonly #processLedger: ProcessLedger | undefined;
  readonly #sandbox: SandboxChoice | undefined;
  /** This run's: another run's hostile schema never holds up its answers. */
  readonly #schemas = new SchemaValidator();

  constructor(options: AnthropicAgentRunnerOptions) {
    this.#transport = createTransport(options.env ?? {});
    this.#client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0, fetch: this.#transport.fetch });
    this.governor = options.governor ?? new RateGovernor(16);
    this.#warmup = new CacheWarmup({ maxWaitMs: options.cacheWarmupMaxWaitMs });
    this.#models = options.models;
    this.#maxTurns = options.maxTurns ?? 50;
    this.#maxTokens = options.maxTokens ?? 8_192;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 1_000;
    this.#minCacheablePrefixTokens = options.minCacheablePrefixTokens ?? MIN_CACHEABLE_PREFIX_TOKENS;
    this.#commands = options.commands ?? [];
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#commandEnv = options.commandEnv;
    this.#commandSecrets = options.commandSecrets;
    this.#processLedger = options.processLedger;
    this.#sandbox = options.sandbox;
  }

  prepare(concurrency: number): void {
    this.#transport.preconnect(this.#client.baseURL, Math.min(concurrency, this.governor.maxInFlight));
  }

  run(request: AgentRequest): Promise<AgentOutcome> {
    return runAgentLoop(request, {
      callModel: this.#callModel,
      models: this.#models,
      warmup: this.#warmup,
      maxTurns: this.#maxTurns,
      maxTokens: this.#maxTokens,
      minCacheablePrefixTokens: this.#minCacheablePrefixTokens,
      commands: this.#commands,
      commandTimeoutMs: this.#commandTimeoutMs,
      commandEnv: this.#commandEnv,
      commandSecrets: this.#commandSecrets,
      processLedger: this.#processLedger,
      ...(this.#sandbox ? { sandbox: this.#sandbox } : {}),
      schemas: this.#schemas,
    });
  }

  readonly #callModel: CallModel = async (params, options) => {
    for (let attempt = 1; ; attempt++) {
      let release: () => void;
      try {
        release = await this.governor.acquire(options.signal);
      } catch {
        throw new ModelCallError('stopped', true);
      }
      let failure: Failure;
      try {
        const message = await this.#requestOnce(params, options);
        this.governor.onSuccess();
        return message;
      } catch (error) {
        failure = classifyFailure(error, options.signal, params.model);
        // Before the slot is released, so no queued request slips out ahead of the pause.
        if (failure.kind === 'rate-limited') this.governor.onRateLimited(failure.retryAfterMs);
      } finally {
        release();
      }

      if (failure.kind === 'aborted') throw new ModelCallError('stopped', true);
      if (failure.kind === 'terminal') throw new ModelCallError(failure.message);
      if (attempt >= this.#maxAttempts) {
        throw new ModelCallError(`Anthropic API still failing after ${attempt} attempts: ${failure.message}`);
      }
      // Rate limits wait in the governor (the next acquire); other retryable failures back off here.
      if (failure.kind === 'retryable') {
        const delay = failure.retryAfterMs ?? jitteredBackoffMs(attempt, this.#retryBaseDelayMs);
        try {
          await sleep(delay, undefined, { signal: options.signal });
        } catch {
          throw new ModelCallError('stopped', true);
        }
      }
    }
  };

  /**
   * One request. It streams only when something needs the stream: a cache warm-up leader
   * (its first event releases the agents waiting on its prefix), or an answer long enough that
   * an idle connection could be dropped before it ends. Everything else is a plain request,
   * which costs the SDK about half the main-thread time of a stream (docs/benchmarks.md).
   */
  async #requestOnce(params: Anthropic.MessageCreateParamsNonStreaming, options: ModelCallOptions): Promise<Anthropic.Message> {
    if (!options.onFirstEvent && params.max_tokens <= STREAM_ABOVE_MAX_TOKENS) {
      return await this.#client.messages.create(params, { signal: options.signal });
    }
    const stream = this.#client.messages.stream(params, { signal: options.signal });
    if (options.onFirstEvent) stream.once('streamEvent', options.onFirstEvent);
    return await stream.finalMessage();
  }
}

/** Answers allowed more output than this are streamed; at 8,192 (the default) they are not. */
export const STREAM_ABOVE_MAX_TOKENS = 16_384;

type Failure =
  | { kind: 'aborted' }
  | { kind: 'rate-limited'; message: string; retryAfterMs?: number }
  | { kind: 'retryable'; message: string; retryAfterMs?: number }
  | { kind: 'terminal'; message: string };

const RETRYABLE_STATUSES = new Set([408, 409]);
const RATE_LIMIT_STATUSES = new Set([429, 529]);

function classifyFailure(error: unknown, signal: AbortSignal, model: string): Failure {
  if (signal.aborted || error instanceof APIUserAbortError) return { kind: 'aborted' };
  if (error instanceof APIConnectionError) {
    return { kind: 'retryable', message: `cannot reach the Anthropic API: ${error.message}` };
  }
  if (error instanceof APIError) {
    const detail = error.apiMessage ?? error.message;
    const status = error.status;
    if (status === undefined) {
      // An error event inside a stream that had already started (HTTP 200).
      if (error.type === 'overloaded_error' || error.type === 'rate_limit_error') {
        return { kind: 'rate-limited', message: `${error.type}: ${detail}` };
      }
      if (error.type === 'api_error') return { kind: 'retryable', message: `${error.type}: ${detail}` };
      return { kind: 'terminal', message: `Anthropic API error in the response stream (${error.type ?? 'unknown'}): ${detail}` };
    }
    const retryAfterMs = retryAfterMsFromHeaders(error.headers);
    if (RATE_LIMIT_STATUSES.has(status)) {
      return { kind: 'rate-limited', retryAfterMs, message: `${statusLabel(status, error.type)}: ${detail}` };
    }
    if (RETRYABLE_STATUSES.has(status) || status >= 500) {
      return { kind: 'retryable', retryAfterMs, message: `${statusLabel(status, error.type)}: ${detail}` };
    }
    return { kind: 'terminal', message: terminalMessage(status, error.type, detail, model) };
  }
  if (error instanceof AnthropicError) {
    // Raised by the SDK before any request, e.g. when it finds no credentials.
    const hint = /auth|credential|api.?key/i.test(error.message) ? ' Set ANTHROPIC_API_KEY.' : '';
    return { kind: 'terminal', message: `Anthropic client error: ${error.message}${hint}` };
  }
  // Anything else is most likely the connection dropping mid-stream: worth another attempt.
  return { kind: 'retryable', message: error instanceof Error ? error.message : String(error) };
}

const statusLabel = (status: number, type: string | null): string => (type ? `${status} ${type}` : String(status));

function terminalMessage(status: number, type: string | null, detail: string, model: string): string {
  const what = statusLabel(status, type);
  switch (status) {
    case 401:
      return `Anthropic API authentication failed (${what}): check ANTHROPIC_API_KEY. ${detail}`;
    case 403:
      return `Anthropic API permission denied (${what}): the API key may not use model "${model}". ${detail}`;
    case 404:
      return `Anthropic API not found (${what}): check the model id "${model}" and ANTHROPIC_BASE_URL. ${detail}`;
    case 413:
      return `Anthropic API request too large (${what}): ${detail}`;
    default:
      return `Anthropic API rejected the request (${what}): ${detail}`;
  }
}
