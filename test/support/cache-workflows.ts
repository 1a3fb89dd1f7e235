// The prompt-caching workflows and arithmetic that the acceptance tests (test/prompt-cache.test.ts)
// and the benchmark (bench/cache.ts) share: a preamble of about 6,000 tokens (the fake counts 4
// characters a token) built once in each script, the item last.
import type { FakeCacheTotals, FakeRequest } from './fake-anthropic.ts';

const RULES = `const RULES = Array.from({ length: 420 }, (_, i) => 'Rule ' + i + ': report any secret written to a log, with its line.').join('\\n')`;

export const CACHE_WORKFLOWS: Record<string, string> = {
  '.claude/workflows/hello.js': `export const meta = { name: 'hello', description: 'one agent', readOnly: true }
return await agent('hello')
`,
  '.claude/workflows/siblings.js': `export const meta = { name: 'siblings', description: 'one preamble, 100 files', readOnly: true }
${RULES}
const results = await parallel(Array.from({ length: 100 }, (_, i) => () => agent(RULES + '\\n\\nFile: src/file' + i + '.ts')))
return results.filter(Boolean).length
`,
  '.claude/workflows/unrelated.js': `export const meta = { name: 'unrelated', description: '30 prompts with nothing in common', readOnly: true }
const results = await parallel(Array.from({ length: 30 }, (_, i) => () => agent(i + ': ' + ('word' + i + ' ').repeat(3000))))
return results.filter(Boolean).length
`,
  '.claude/workflows/staged.js': `export const meta = { name: 'staged', description: 'a preamble in a pipeline stage whose items arrive over time', readOnly: true }
${RULES}
const items = Array.from({ length: 20 }, (_, i) => 'module' + i)
const results = await pipeline(items, (item) => agent('Name one risk in ' + item), (risk, item) => agent(RULES + '\\n\\nModule: ' + item + '\\nRisk: ' + risk))
return results.filter(Boolean).length
`,
};

/** The body of a script without meta whose three agents share the preamble (runScript's form). */
export const SHARED_PREAMBLE_BODY = `${RULES}\nreturn (await parallel([0, 1, 2].map((i) => () => agent(RULES + '\\n\\nFile: ' + i)))).length`;

/** A request of the `staged` workflow's second stage, the one whose prompts share the preamble. */
export const isStagedPreamble = (req: FakeRequest): boolean => req.prompt.startsWith('Rule 0');

/** Makes the `staged` workflow's first-stage answers come back spread over two seconds. */
export const spreadFirstStage = (req: FakeRequest): Promise<void> =>
  req.prompt.startsWith('Name one risk') ? new Promise((resolve) => setTimeout(resolve, Number(/module(\d+)/.exec(req.prompt)![1]) * 100)) : Promise.resolve();

export const ZERO_TOTALS: FakeCacheTotals = { requests: 0, input: 0, read: 0, write5m: 0, write1h: 0 };
export const promptTokensOf = (t: FakeCacheTotals): number => t.input + t.read + t.write5m + t.write1h;
/** Prompt tokens billed, as a share of the same prompts uncached: reads at 0.1, writes at 1.25 (5 minutes) or 2 (1 hour). */
export const billedShare = (t: FakeCacheTotals): number => (t.input + 0.1 * t.read + 1.25 * t.write5m + 2 * t.write1h) / promptTokensOf(t);
export const readShare = (t: FakeCacheTotals): number => t.read / promptTokensOf(t);
export const minusTotals = (a: FakeCacheTotals, b: FakeCacheTotals): FakeCacheTotals => ({ requests: a.requests - b.requests, input: a.input - b.input, read: a.read - b.read, write5m: a.write5m - b.write5m, write1h: a.write1h - b.write1h });

/** What these answered requests billed, from the usage each answer carried. */
export const totalsOf = (requests: readonly FakeRequest[]): FakeCacheTotals =>
  requests.reduce<FakeCacheTotals>((sum, req) => {
    const u = req.usage;
    if (!u) return sum;
    return {
      requests: sum.requests + 1,
      input: sum.input + u.input_tokens,
      read: sum.read + u.cache_read_input_tokens,
      write5m: sum.write5m + (u.cache_creation?.ephemeral_5m_input_tokens ?? 0),
      write1h: sum.write1h + (u.cache_creation?.ephemeral_1h_input_tokens ?? 0),
    };
  }, ZERO_TOTALS);
