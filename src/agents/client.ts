// The AgentRunner the engine uses: each agent's loop over the one model client (model-client.ts),
// whose rate limits feed the run's shared RateGovernor.

import Anthropic from '@anthropic-ai/sdk';
import type { ModelTable } from '../runtime/pricing.ts';
import type { AgentOutcome, AgentRequest, AgentRunner } from '../contracts/ports.ts';
import { CacheWarmup } from './cache-warmup.ts';
import { ModelClient, type ModelClientOptions } from './model-client.ts';
import type { CacheTtl } from './prompts.ts';
import { SharedPrefixes } from './shared-prefix.ts';
import type { RateGovernor } from './governor.ts';
import { agentShapes, runAgentLoop } from './loop.ts';
import { InvalidSchemaError, SchemaCheckStopped, SchemaError, SchemaValidator } from './schema-validator.ts';
import type { ProjectMemory } from './project-memory.ts';
import type { CommandSettings } from './tools.ts';
import type { ProcessLedger } from '../workspace/process-ledger.ts';
import type { SandboxChoice } from '../workspace/sandbox.ts';
import type { WebSettings } from './web-tools.ts';

/** The model client's options (key, URL, proxy environment, retries, governor), run_command's, and the agents'. */
export interface AnthropicAgentRunnerOptions extends ModelClientOptions, CommandSettings {
  models: ModelTable;
  /** Model responses per agent before it is failed (turn fuse). */
  maxTurns?: number;
  /** max_tokens of each response. */
  maxTokens?: number;
  /** Longest an agent waits for a prompt-cache warm-up by an agent with the same prefix. */
  cacheWarmupMaxWaitMs?: number;
  /** Shortest shared prefix (estimated tokens) worth a warm-up wait, for every model; by default each model's minimum. */
  minCacheablePrefixTokens?: number;
  /** The TTL the run's shared cache breakpoints start with (cache-ttl.ts); 5 minutes when absent. */
  cacheTtl?: CacheTtl;
  /** False: prompts go whole, their shared prefixes not looked for (a measurement switch). Default true. */
  sharedPrefixes?: boolean;
  /** The run's CLAUDE.md files, for every agent's system prompt. */
  projectMemory?: ProjectMemory;
  /** The run's web search and fetch (`agents.web`, the door's default); none when absent. */
  web?: WebSettings;
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
  readonly #model: ModelClient;
  readonly #warmup: CacheWarmup;
  readonly #models: ModelTable;
  readonly #maxTurns: number;
  readonly #maxTokens: number;
  readonly #minCacheablePrefixTokens: number | undefined;
  readonly #cacheTtl: CacheTtl;
  /** This run's: its prompts' shared prefixes (none when switched off). */
  readonly #prefixes: SharedPrefixes | undefined;
  readonly #commands: readonly string[] | undefined;
  readonly #commandTimeoutMs: number | undefined;
  readonly #commandEnv: NodeJS.ProcessEnv | undefined;
  readonly #commandSecrets: Iterable<string> | undefined;
  readonly #processLedger: ProcessLedger | undefined;
  readonly #sandbox: SandboxChoice | undefined;
  readonly #projectMemory: ProjectMemory | undefined;
  readonly #web: WebSettings | undefined;
  /** This run's: another run's hostile schema never holds up its answers. */
  readonly #schemas = new SchemaValidator();
  /** This run's: the agents of one kind share their system prompt, tools and prefix key. */
  readonly #shapes = agentShapes();

  constructor(options: AnthropicAgentRunnerOptions) {
    this.#model = new ModelClient(options);
    this.governor = this.#model.governor;
    this.#warmup = new CacheWarmup({ maxWaitMs: options.cacheWarmupMaxWaitMs });
    this.#models = options.models;
    this.#maxTurns = options.maxTurns ?? 50;
    this.#maxTokens = options.maxTokens ?? 8_192;
    this.#minCacheablePrefixTokens = options.minCacheablePrefixTokens;
    this.#cacheTtl = options.cacheTtl ?? '5m';
    this.#prefixes = options.sharedPrefixes === false ? undefined : new SharedPrefixes();
    this.#commands = options.commands;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#commandEnv = options.commandEnv;
    this.#commandSecrets = options.commandSecrets;
    this.#processLedger = options.processLedger;
    this.#sandbox = options.sandbox;
    this.#projectMemory = options.projectMemory;
    this.#web = options.web;
  }

  prepare(concurrency: number): void {
    this.#model.prepare(concurrency);
  }

  notePrompt(prompt: string): void {
    this.#prefixes?.note(prompt);
  }

  /**
   * Compiles the schema in the schema thread, as the agent would before its first turn. Only a
   * schema that is unusable whatever the answer is reported; one whose compile overran, or a stop,
   * is left to the agent, which fails (null) as before.
   */
  async checkSchema(schema: Record<string, unknown>, signal: AbortSignal): Promise<string | null> {
    try {
      await this.#schemas.compile(SchemaValidator.serialise(schema), signal);
      return null;
    } catch (error) {
      if (error instanceof InvalidSchemaError) return error.message;
      if (error instanceof SchemaError || error instanceof SchemaCheckStopped) return null;
      throw error;
    }
  }

  run(request: AgentRequest): Promise<AgentOutcome> {
    return runAgentLoop(request, {
      callModel: this.#model.callModel,
      models: this.#models,
      warmup: this.#warmup,
      maxTurns: this.#maxTurns,
      maxTokens: this.#maxTokens,
      ...(this.#minCacheablePrefixTokens === undefined ? {} : { minCacheablePrefixTokens: this.#minCacheablePrefixTokens }),
      ...(this.#prefixes ? { prefixes: this.#prefixes } : {}),
      cacheTtl: this.#cacheTtl,
      ...(this.#commands ? { commands: this.#commands } : {}),
      commandTimeoutMs: this.#commandTimeoutMs,
      commandEnv: this.#commandEnv,
      commandSecrets: this.#commandSecrets,
      processLedger: this.#processLedger,
      ...(this.#sandbox ? { sandbox: this.#sandbox } : {}),
      schemas: this.#schemas,
      shapes: this.#shapes,
      ...(this.#projectMemory ? { projectMemory: this.#projectMemory } : {}),
      ...(this.#web ? { web: this.#web } : {}),
    });
  }
}

export { STREAM_ABOVE_MAX_TOKENS } from './model-client.ts';
