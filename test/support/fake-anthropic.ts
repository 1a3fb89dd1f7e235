// A fake Anthropic Messages API for tests and benchmarks. The real SDK talks to it through
// baseURL; a handler scripts each reply from the request (prompt, turn, last tool results).
// Built to serve thousands of requests cheaply: keep-alive, one write per response, no logging.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RateLimitBuckets, type FakeRateLimits } from './fake-rate-limits.ts';
import { PromptCache, type PromptCacheOptions, type PromptCachePlan } from './fake-prompt-cache.ts';

export interface FakeRequest {
  /** The parsed /v1/messages JSON body. */
  body: any;
  /** Text of the first user message, its text blocks joined with newlines. */
  prompt: string;
  /** 0-based: the number of assistant messages already in body.messages. */
  turn: number;
  /** Tool results in the last user message. */
  lastToolResults: Array<{ tool_use_id: string; content: string; is_error?: boolean }>;
  /** Names of the tools offered, client and server tools alike. */
  tools: string[];
  /** The server tools offered (the API runs them), by name: their `type` and settings as sent. */
  serverTools: Record<string, any>;
  /** The last message is the assistant's: a turn the API paused (`pause_turn`) sent back to go on. */
  continuing: boolean;
  /** Each offered tool's input schema, by name: what an agent is asked for, without reading its prompt. */
  toolSchemas: Record<string, any>;
  /** The HTTP request headers, names lowercased. */
  headers: IncomingHttpHeaders;
  /** performance.now() when the request body had arrived. */
  receivedAt: number;
  /** performance.now() when the response (first byte) was written; unset until then. */
  respondedAt?: number;
  /** The usage the answer carried (a message, not an error); unset until then. */
  usage?: FakeUsage;
}

/** A server tool's call and its result, as the API puts them in the model's turn. */
export type FakeServerBlock =
  | { type: 'server_tool_use'; id: string; name: 'web_search' | 'web_fetch'; input: unknown }
  | { type: 'web_search_tool_result'; tool_use_id: string; content: Array<{ type: 'web_search_result'; title: string; url: string; encrypted_content: string; page_age: string | null }> | { type: 'web_search_tool_result_error'; error_code: string } }
  | { type: 'web_fetch_tool_result'; tool_use_id: string; content: { type: 'web_fetch_result'; url: string; retrieved_at: string | null; content: unknown } | { type: 'web_fetch_tool_result_error'; error_code: string } };

export type FakeBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown; id?: string } | FakeServerBlock;

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  /** The write split by TTL; given only with `promptCache` on. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  /** Counted from the reply's server_tool_use blocks unless the reply gives it. */
  server_tool_use?: { web_search_requests: number; web_fetch_requests: number };
}

export type FakeReply =
  | FakeBlock[]
  | { blocks: FakeBlock[]; stop_reason?: string; usage?: Partial<FakeUsage> }
  | { status: number; error?: { type: string; message: string }; headers?: Record<string, string> };

export interface FakeServerOptions {
  handler: (req: FakeRequest) => FakeReply | Promise<FakeReply>;
  /** Delay before responding, per request. */
  latencyMs?: number;
  /** Keep every request in `requests` (default true; turn off for large benchmarks). */
  record?: boolean;
  /**
   * The organisation's limits, enforced as the API does (fake-rate-limits.ts): every answer then
   * carries the `anthropic-ratelimit-*` headers, and a request over a limit is answered 429.
   */
  rateLimits?: FakeRateLimits;
  /**
   * Bill prompt caching as the API does (fake-prompt-cache.ts): a reply's input and cache usage
   * come from the request's blocks and `cache_control` breakpoints, whatever the handler says, and
   * an entry becomes readable when the writing response starts. `now` (default Date.now) is the
   * cache's clock, so a test can step over a TTL.
   */
  promptCache?: PromptCacheOptions & { now?: () => number };
}

/** Prompt tokens summed over the requests answered with `promptCache` on. */
export interface FakeCacheTotals {
  /** Requests answered (a message, not an error). */
  requests: number;
  /** Uncached input tokens. */
  input: number;
  /** Tokens read from the cache. */
  read: number;
  /** Tokens written with the 5-minute TTL. */
  write5m: number;
  /** Tokens written with the 1-hour TTL. */
  write1h: number;
}

export interface FakeAnthropic {
  /** Base URL for the SDK (`baseURL` or ANTHROPIC_BASE_URL). */
  url: string;
  /** Number of /v1/messages requests received. */
  readonly calls: number;
  /** Number of TCP connections accepted. */
  readonly connections: number;
  /** Requests answered 429 because they were over `rateLimits`. */
  readonly rateLimited: number;
  /** The prompt cache's totals; null unless started with `promptCache`. */
  readonly cache: Readonly<FakeCacheTotals> | null;
  requests: FakeRequest[];
  close(): Promise<void>;
}

/**
 * A reviewer's request (fix()'s, or any agent asked for an accept/refute verdict): told apart by
 * the schema of its answer, not by the words of Foreman's prompt, so rewording a prompt breaks no test.
 */
export function asksForVerdict(req: FakeRequest): boolean {
  const verdict = req.toolSchemas.submit_result?.properties?.verdict;
  return Array.isArray(verdict?.enum) && verdict.enum.includes('accept') && verdict.enum.includes('refute');
}

/**
 * An agent that may write: it is offered edit_file. That is a write agent (change(), fix(),
 * isolation: 'worktree') and, unless the run is read-only, a plain agent too: route plain agents
 * on the script's prompts first.
 */
export const isWriteAgent = (req: FakeRequest): boolean => req.tools.includes('edit_file');

export const text = (t: string): FakeBlock => ({ type: 'text', text: t });
export const toolUse = (name: string, input: unknown): FakeBlock => ({ type: 'tool_use', name, input });

let serverToolUses = 0;
const serverToolUseId = () => `srvtoolu_fake_${++serverToolUses}`;

/** A search the API ran inside the model's turn: its call and its results. */
export function webSearch(query: string, results: Array<{ title: string; url: string }> | { error_code: string }): FakeBlock[] {
  const id = serverToolUseId();
  const content = Array.isArray(results)
    ? results.map((r) => ({ type: 'web_search_result' as const, title: r.title, url: r.url, encrypted_content: `enc:${r.url}`, page_age: null }))
    : { type: 'web_search_tool_result_error' as const, error_code: results.error_code };
  return [
    { type: 'server_tool_use', id, name: 'web_search', input: { query } },
    { type: 'web_search_tool_result', tool_use_id: id, content },
  ];
}

/** A fetch the API ran inside the model's turn: its call and the page (or the error code). */
export function webFetch(url: string, page: string | { error_code: string }): FakeBlock[] {
  const id = serverToolUseId();
  const content =
    typeof page === 'string'
      ? { type: 'web_fetch_result' as const, url, retrieved_at: '2026-11-30T00:00:00Z', content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: page }, title: null, citations: null } }
      : { type: 'web_fetch_tool_result_error' as const, error_code: page.error_code };
  return [
    { type: 'server_tool_use', id, name: 'web_fetch', input: { url } },
    { type: 'web_fetch_tool_result', tool_use_id: id, content },
  ];
}

/**
 * The server tool types this fake knows, as the SDK defines them, each with the name it must have.
 * The API refuses a request offering any other type; so does the fake, or a typo in a type would
 * pass every test and fail on the first real request.
 */
const SERVER_TOOL_TYPES: Record<string, string> = {
  web_search_20250305: 'web_search',
  web_search_20260209: 'web_search',
  web_search_20260318: 'web_search',
  web_fetch_20250910: 'web_fetch',
  web_fetch_20260209: 'web_fetch',
  web_fetch_20260309: 'web_fetch',
  web_fetch_20260318: 'web_fetch',
};

/**
 * The API refuses a text block with nothing but whitespace in it, in the system prompt or a
 * message, as it refuses an empty one: a client that splits a prompt must never send one.
 */
function textBlocksProblem(body: any): string | null {
  const blank = (block: any) => block?.type === 'text' && typeof block.text === 'string' && block.text.trim() === '';
  if (Array.isArray(body.system) && body.system.some(blank)) return 'system: text content blocks must contain non-whitespace text';
  for (const [i, message] of (Array.isArray(body.messages) ? body.messages : []).entries()) {
    if (Array.isArray(message?.content) && message.content.some(blank)) return `messages.${i}: text content blocks must contain non-whitespace text`;
  }
  return null;
}

/** Why the API would refuse these tools, or null. A tool without a type (or `custom`) is a client tool. */
function toolsProblem(tools: unknown): string | null {
  if (!Array.isArray(tools)) return null;
  for (const [i, tool] of tools.entries()) {
    const type = tool?.type;
    if (type === undefined || type === 'custom') continue;
    const name = SERVER_TOOL_TYPES[type];
    if (name === undefined) return `tools.${i}: Input tag '${type}' found using 'type' does not match any of the expected tags: 'custom', ${Object.keys(SERVER_TOOL_TYPES).map((t) => `'${t}'`).join(', ')}`;
    if (tool.name !== name) return `tools.${i}.name: Input should be '${name}'`;
  }
  return null;
}

const DEFAULT_USAGE: FakeUsage = {
  input_tokens: 100,
  output_tokens: 20,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export async function startFakeAnthropic(opts: FakeServerOptions): Promise<FakeAnthropic> {
  const latencyMs = opts.latencyMs ?? 0;
  const record = opts.record !== false;
  const requests: FakeRequest[] = [];
  let calls = 0;
  let messageCounter = 0;
  let toolUseCounter = 0;
  let rateLimited = 0;
  const limits = opts.rateLimits ? new RateLimitBuckets(opts.rateLimits) : null;
  const cache = opts.promptCache ? promptCacheBilling(opts.promptCache) : null;

  const server = createServer((req, res) => {
    // Latency counts from the request's arrival, like a real API's response time, so the
    // server's own parsing does not add to it.
    const arrivedAt = performance.now();
    readBody(req)
      .then(async (raw) => {
        if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
          return sendError(res, 404, { type: 'not_found_error', message: `fake-anthropic: no route ${req.method} ${req.url}` });
        }
        calls += 1;
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          return sendError(res, 400, { type: 'invalid_request_error', message: 'fake-anthropic: body is not JSON' });
        }
        const request = describeRequest(body, req.headers);
        if (record) requests.push(request);
        const refused = toolsProblem(body.tools) ?? textBlocksProblem(body);
        if (refused) return sendError(res, 400, { type: 'invalid_request_error', message: refused });
        // Planned on arrival, as the API looks the prefix up before it generates anything.
        const cachePlan = cache ? cache.plan(body) : null;
        if (cachePlan && 'error' in cachePlan) return sendError(res, 400, { type: 'invalid_request_error', message: cachePlan.error });

        let reply: FakeReply;
        try {
          reply = await opts.handler(request);
        } catch (error) {
          // A broken test handler should fail the test fast, not be retried as a 5xx.
          return sendError(res, 400, { type: 'invalid_request_error', message: `fake-anthropic handler threw: ${String(error)}` });
        }
        const message = Array.isArray(reply) || !('status' in reply) ? buildMessage(body.model, reply, () => `msg_fake_${++messageCounter}`, () => `toolu_fake_${++toolUseCounter}`) : null;
        if (message && cachePlan) message.usage = { ...message.usage, ...cachePlan.usage };
        const maxTokens = Number(body.max_tokens) || 0;
        if (limits && message) {
          // Counted on arrival, as the API does; the answer's usage says what the prompt was.
          const taken = limits.take(message.usage.input_tokens + message.usage.cache_creation_input_tokens, maxTokens);
          if (!taken.ok) {
            rateLimited += 1;
            return sendError(res, 429, { type: 'rate_limit_error', message: 'fake-anthropic: this request would exceed the rate limit' }, { ...limits.headers(), 'retry-after': String(taken.retryAfterSeconds) });
          }
        }
        const wait = latencyMs - (performance.now() - arrivedAt);
        if (wait > 0) await delay(wait);
        if (res.destroyed) return;
        request.respondedAt = performance.now();

        if (!message) {
          const scripted = reply as { status: number; error?: { type: string; message: string }; headers?: Record<string, string> };
          return sendError(res, scripted.status, scripted.error ?? defaultError(scripted.status), { ...limits?.headers(), ...scripted.headers });
        }
        if (cache && cachePlan) cache.answered(cachePlan);
        request.usage = message.usage;
        if (limits) limits.settle(maxTokens, message.usage.output_tokens);
        const limitHeaders = limits ? limits.headers() : {};
        if (body.stream === true) sendStream(res, message, limitHeaders);
        else sendJson(res, 200, message, limitHeaders);
      })
      .catch((error) => {
        if (!res.headersSent && !res.destroyed) sendError(res, 500, { type: 'api_error', message: `fake-anthropic: ${String(error)}` });
      });
  });
  let connections = 0;
  server.on('connection', () => (connections += 1));
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    get connections() {
      return connections;
    },
    get rateLimited() {
      return rateLimited;
    },
    get cache() {
      return cache ? cache.totals() : null;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The prompt cache on the fake's clock, and the totals over the requests it answered. */
function promptCacheBilling(options: NonNullable<FakeServerOptions['promptCache']>) {
  const cache = new PromptCache(options);
  const now = options.now ?? Date.now;
  const totals: FakeCacheTotals = { requests: 0, input: 0, read: 0, write5m: 0, write1h: 0 };
  return {
    plan: (body: unknown) => cache.plan(body, now()),
    /** The answer's first byte is going out: what it wrote becomes readable. */
    answered(plan: PromptCachePlan): void {
      cache.commit(plan, now());
      const { usage } = plan;
      totals.requests += 1;
      totals.input += usage.input_tokens;
      totals.read += usage.cache_read_input_tokens;
      totals.write5m += usage.cache_creation.ephemeral_5m_input_tokens;
      totals.write1h += usage.cache_creation.ephemeral_1h_input_tokens;
    },
    totals: (): FakeCacheTotals => ({ ...totals }),
  };
}

function describeRequest(body: any, headers: IncomingHttpHeaders): FakeRequest {
  const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
  const firstUser = messages.find((m) => m.role === 'user');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const lastToolResults =
    lastUser && Array.isArray(lastUser.content)
      ? lastUser.content
          .filter((b: any) => b.type === 'tool_result')
          .map((b: any) => ({
            tool_use_id: b.tool_use_id,
            content: textOf(b.content),
            ...(b.is_error ? { is_error: true } : {}),
          }))
      : [];
  return {
    body,
    prompt: firstUser ? textOf(firstUser.content) : '',
    turn: messages.filter((m) => m.role === 'assistant').length,
    lastToolResults,
    tools: Array.isArray(body.tools) ? body.tools.map((t: any) => t.name) : [],
    serverTools: Object.fromEntries((Array.isArray(body.tools) ? body.tools : []).filter((t: any) => t.type !== undefined && t.type !== 'custom').map((t: any) => [t.name, t])),
    continuing: messages.at(-1)?.role === 'assistant',
    toolSchemas: Object.fromEntries((Array.isArray(body.tools) ? body.tools : []).map((t: any) => [t.name, t.input_schema])),
    headers,
    receivedAt: performance.now(),
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b: any) => b?.type === 'text')
    .map((b: any) => b.text)
    .join('\n');
}

interface FakeMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Array<{ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown } | FakeServerBlock>;
  stop_reason: string;
  stop_sequence: null;
  usage: FakeUsage;
}

function buildMessage(
  model: string,
  reply: FakeBlock[] | { blocks: FakeBlock[]; stop_reason?: string; usage?: Partial<FakeUsage> },
  nextMessageId: () => string,
  nextToolUseId: () => string,
): FakeMessage {
  const blocks = Array.isArray(reply) ? reply : reply.blocks;
  const content = blocks.map((b) =>
    b.type === 'text'
      ? { type: 'text' as const, text: b.text }
      : b.type === 'tool_use'
        ? { type: 'tool_use' as const, id: b.id ?? nextToolUseId(), name: b.name, input: b.input }
        : b,
  );
  const hasToolUse = content.some((b) => b.type === 'tool_use');
  const serverUses = content.filter((b): b is Extract<FakeServerBlock, { type: 'server_tool_use' }> => b.type === 'server_tool_use');
  const serverToolUse = {
    web_search_requests: serverUses.filter((b) => b.name === 'web_search').length,
    web_fetch_requests: serverUses.filter((b) => b.name === 'web_fetch').length,
  };
  return {
    id: nextMessageId(),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: (!Array.isArray(reply) && reply.stop_reason) || (hasToolUse ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: { ...DEFAULT_USAGE, ...(serverUses.length > 0 ? { server_tool_use: serverToolUse } : {}), ...(Array.isArray(reply) ? {} : reply.usage) },
  };
}

/** The whole SSE conversation in one write: the SDK parses it the same as a trickle. */
function sendStream(res: ServerResponse, message: FakeMessage, headers: Record<string, string> = {}): void {
  const events: string[] = [];
  const event = (type: string, data: unknown) => events.push(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);

  event('message_start', {
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } },
  });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else if (block.type === 'web_search_tool_result' || block.type === 'web_fetch_tool_result') {
      // Results arrive whole, in their start event.
      event('content_block_start', { type: 'content_block_start', index, content_block: block });
    } else {
      event('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: block.type, id: block.id, name: block.name, input: {} },
      });
      // Two deltas, as the real API splits tool input, so clients must accumulate it.
      const json = JSON.stringify(block.input ?? {});
      const cut = Math.floor(json.length / 2);
      for (const partial_json of [json.slice(0, cut), json.slice(cut)]) {
        event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
      }
    }
    event('content_block_stop', { type: 'content_block_stop', index });
  });
  event('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens, ...(message.usage.server_tool_use ? { server_tool_use: message.usage.server_tool_use } : {}) },
  });
  event('message_stop', { type: 'message_stop' });

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.end(events.join(''));
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

function sendError(res: ServerResponse, status: number, error: { type: string; message: string }, headers?: Record<string, string>): void {
  sendJson(res, status, { type: 'error', error, request_id: `req_fake_${status}` }, headers);
}

function defaultError(status: number): { type: string; message: string } {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { type, message: `fake ${type} (${status})` };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
