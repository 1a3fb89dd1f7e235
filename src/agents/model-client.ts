// One way to ask the Anthropic API, for agents and for workflow generation alike: the SDK over
// Foreman's transport, with retries done here rather than in the SDK so that rate limits
// (429/529) feed a RateGovernor, and every failure classified into one ModelCallError.

import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic, { AnthropicError, APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { createTransport, type Transport } from './http.ts';
import { jitteredBackoffMs, RateGovernor, retryAfterMsFromHeaders } from './governor.ts';
import { ModelCallError, type CallModel, type ModelCallOptions } from './loop.ts';
import type { RateTicket, SharedRateLimiter } from './shared-rate-limiter.ts';

export interface ModelClientOptions {
  /** Defaults to ANTHROPIC_API_KEY (read by the SDK). */
  apiKey?: string;
  /** Defaults to ANTHROPIC_BASE_URL (read by the SDK), else the Anthropic API. */
  baseURL?: string;
  /** The door's environment: its HTTP_PROXY, HTTPS_PROXY and NO_PROXY route the requests. None when absent. */
  env?: NodeJS.ProcessEnv;
  /** Attempts per model request, the first included. */
  maxAttempts?: number;
  /** Shared by all requests of a run; one is made (16 in flight) when absent. */
  governor?: RateGovernor;
  /** First back-off delay for retried 408/409/5xx and connection errors. */
  retryBaseDelayMs?: number;
  /** Paces requests by the organisation's rate limits, shared with other workers; none when absent. */
  limiter?: SharedRateLimiter;
}

export class ModelClient {
  readonly governor: RateGovernor;
  readonly #client: Anthropic;
  readonly #transport: Transport;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #limiter: SharedRateLimiter | undefined;

  constructor(options: ModelClientOptions) {
    this.#transport = createTransport(options.env ?? {});
    this.#client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0, fetch: this.#transport.fetch });
    this.governor = options.governor ?? new RateGovernor(16);
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 1_000;
    this.#limiter = options.limiter;
  }

  /** Opens connections ahead for the first `concurrency` requests. */
  prepare(concurrency: number): void {
    this.#transport.preconnect(this.#client.baseURL, Math.min(concurrency, this.governor.maxInFlight));
  }

  /** One request, retried as its failure allows; throws ModelCallError when it gives up. */
  readonly callModel: CallModel = async (params, options) => {
    for (let attempt = 1; ; attempt++) {
      let release: () => void;
      try {
        release = await this.governor.acquire(options.signal);
      } catch {
        throw new ModelCallError('stopped', true);
      }
      let failure: Failure;
      let ticket: RateTicket | undefined;
      try {
        if (this.#limiter) ticket = await this.#limiter.acquire(params, options.signal);
        const { message, headers } = await this.#requestOnce(params, options);
        // Off the answer's path: the next reservation reads it whenever it has landed.
        if (ticket) {
          this.#limiter!.observe(headers, ticket).catch(() => {});
          this.#limiter!.learn(ticket, message.usage);
        }
        this.governor.onSuccess();
        return message;
      } catch (error) {
        failure = classifyFailure(error, options.signal, params.model);
        // A failure without headers (no connection) still ends the cold-start probe it may hold.
        if (ticket) this.#limiter!.observe(error instanceof APIError ? error.headers : undefined, ticket).catch(() => {});
        // Before the slot is released, so no queued request slips out ahead of the pause.
        if (failure.kind === 'rate-limited') this.governor.onRateLimited(failure.retryAfterMs);
      } finally {
        release();
      }

      if (failure.kind === 'aborted') throw new ModelCallError('stopped', true);
      if (failure.kind === 'terminal') throw new ModelCallError(failure.message, false, failure.status);
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
  async #requestOnce(params: Anthropic.MessageCreateParamsNonStreaming, options: ModelCallOptions): Promise<{ message: Anthropic.Message; headers: Headers }> {
    if (!options.onFirstEvent && params.max_tokens <= STREAM_ABOVE_MAX_TOKENS) {
      const { data, response } = await this.#client.messages.create(params, { signal: options.signal }).withResponse();
      return { message: data, headers: response.headers };
    }
    const stream = this.#client.messages.stream(params, { signal: options.signal });
    if (options.onFirstEvent) stream.once('streamEvent', options.onFirstEvent);
    const { response } = await stream.withResponse();
    return { message: await stream.finalMessage(), headers: response.headers };
  }
}

/** Answers allowed more output than this are streamed; at 8,192 (the default) they are not. */
export const STREAM_ABOVE_MAX_TOKENS = 16_384;

type Failure =
  | { kind: 'aborted' }
  | { kind: 'rate-limited'; message: string; retryAfterMs?: number }
  | { kind: 'retryable'; message: string; retryAfterMs?: number }
  | { kind: 'terminal'; message: string; status?: number };

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
    return { kind: 'terminal', status, message: terminalMessage(status, error.type, detail, model) };
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
