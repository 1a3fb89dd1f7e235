// WebSearch and WebFetch: the Messages API's server tools. The API runs them, not Foreman: they are
// offered in `tools` by type, come back inside the model's own turn as server_tool_use and
// *_tool_result blocks, and are counted in usage.server_tool_use. Which agents get them is the
// run's setting (`agents.web`, defaulted by the door) narrowed by an agent's own tool list.
import type Anthropic from '@anthropic-ai/sdk';
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';
import type { ToolCallRecord } from '../contracts/ports.ts';

/** The tool names a model calls, and an agent type's tool list names. */
export const WEB_SEARCH = 'web_search';
export const WEB_FETCH = 'web_fetch';
// The first versions of each: every model that has the tools takes them, and neither needs a beta
// header or the code execution tool that the later versions' result filtering runs in.
export const WEB_SEARCH_TYPE = 'web_search_20250305';
export const WEB_FETCH_TYPE = 'web_fetch_20250910';

/** The run's web access, the same for every agent of the run. */
export interface WebSettings {
  search: boolean;
  fetch: boolean;
  /** The API's max_uses: searches (and fetches) per model request. */
  maxUses: number;
  allowedDomains?: readonly string[];
  blockedDomains?: readonly string[];
}

export const NO_WEB: WebSettings = { search: false, fetch: false, maxUses: CONFIG_DEFAULTS.agents.web.maxUses };

type WebConfig = NonNullable<ForemanConfig['agents']>['web'];

/**
 * What `agents.web` allows. Left out, the door decides (`byDefault`: the CLI says yes, the App and
 * the Action no); a mapping turns the web on, less what it switches off. Code a maintainer has not
 * approved never gets the web: a prompt injected into it could send the repository anywhere.
 */
export function webSettings(web: WebConfig, byDefault: boolean, untrusted = false): WebSettings {
  if (untrusted) return NO_WEB;
  if (web === undefined || typeof web === 'boolean') {
    const on = web ?? byDefault;
    return { ...NO_WEB, search: on, fetch: on };
  }
  return {
    search: web.search ?? true,
    fetch: web.fetch ?? true,
    maxUses: web.maxUses ?? NO_WEB.maxUses,
    ...(web.allowedDomains ? { allowedDomains: web.allowedDomains } : {}),
    ...(web.blockedDomains ? { blockedDomains: web.blockedDomains } : {}),
  };
}

/**
 * The server tools an agent is offered: what the run allows, and of that only what the agent's
 * own tool list names (an agent type's `tools`), when it has one.
 */
export type WebServerTool = Anthropic.WebSearchTool20250305 | Anthropic.WebFetchTool20250910;

export function webServerTools(settings: WebSettings, agentTools?: readonly string[]): WebServerTool[] {
  const listed = (name: string) => agentTools === undefined || agentTools.includes(name);
  const limits = {
    max_uses: settings.maxUses,
    ...(settings.allowedDomains ? { allowed_domains: [...settings.allowedDomains] } : {}),
    ...(settings.blockedDomains ? { blocked_domains: [...settings.blockedDomains] } : {}),
  };
  const tools: WebServerTool[] = [];
  if (settings.search && listed(WEB_SEARCH)) tools.push({ type: WEB_SEARCH_TYPE, name: WEB_SEARCH, ...limits });
  if (settings.fetch && listed(WEB_FETCH)) tools.push({ type: WEB_FETCH_TYPE, name: WEB_FETCH, ...limits });
  return tools;
}

type ServerResult = Anthropic.WebSearchToolResultBlock | Anthropic.WebFetchToolResultBlock;

/** The web requests of one response, for the transcript: each search or fetch with what came back. */
export function webToolRecords(content: readonly Anthropic.ContentBlock[]): ToolCallRecord[] {
  const results = new Map<string, ServerResult>();
  for (const block of content) {
    if (block.type === 'web_search_tool_result' || block.type === 'web_fetch_tool_result') results.set(block.tool_use_id, block);
  }
  return content
    .filter((block): block is Anthropic.ServerToolUseBlock => block.type === 'server_tool_use')
    .map((use) => ({ name: use.name, input: use.input, ...describeResult(results.get(use.id)) }));
}

function describeResult(block: ServerResult | undefined): { output: string; isError: boolean } {
  // A paused turn can stop between the call and its result; the API finishes it on the next request.
  if (!block) return { output: '(no result in this response: the turn paused)', isError: false };
  if (block.type === 'web_search_tool_result') {
    const found = block.content;
    if (!Array.isArray(found)) return { output: `web search failed: ${found.error_code}`, isError: true };
    return { output: found.map((result) => `${result.title} <${result.url}>`).join('\n') || '(no results)', isError: false };
  }
  const fetched = block.content;
  if (fetched.type === 'web_fetch_tool_result_error') return { output: `web fetch failed: ${fetched.error_code}`, isError: true };
  return { output: `fetched ${fetched.url}`, isError: false };
}

/** The API's count of the server tools it ran for one response, in Foreman's terms; nothing when none ran. */
export function webUsageOf(usage: Anthropic.Usage): { webSearches?: number; webFetches?: number } {
  const searches = usage.server_tool_use?.web_search_requests ?? 0;
  const fetches = usage.server_tool_use?.web_fetch_requests ?? 0;
  return { ...(searches > 0 ? { webSearches: searches } : {}), ...(fetches > 0 ? { webFetches: fetches } : {}) };
}
