// Prompt caching (issue #17): what sibling agents' prompts bill against the fake Messages API
// billing caching as the API documents (test/support/fake-prompt-cache.ts), with Foreman's shared
// prompt prefixes on and off. Each scenario runs in its own process through the service
// (bench/cache-worker.ts), with a fresh fake model, on a fresh home that has run one agent first.
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic, text, type FakeAnthropic, type FakeCacheTotals, type FakeRequest } from '../test/support/fake-anthropic.ts';
import { billedShare, CACHE_WORKFLOWS as SCRIPTS, isStagedPreamble, promptTokensOf as promptTokens, readShare, spreadFirstStage, totalsOf as sumOf } from '../test/support/cache-workflows.ts';
import { runWorker } from './child.ts';
import { cliEnv } from '../test/support/cli.ts';
import { makeRepo, tempDir } from '../test/support/repo.ts';

const WORKER = fileURLToPath(new URL('./cache-worker.ts', import.meta.url));
export const LATENCY_MS = 100;
const CONCURRENCY = 16;

const worker = (args: string[], env: NodeJS.ProcessEnv) => runWorker<{ runId: string; status: string; wallMs: number; costUsd: number }>([WORKER, ...args], env);

export interface CacheRow {
  scenario: string;
  prefixes: 'on' | 'off';
  requests: number;
  promptTokens: number;
  readShare: number;
  written: number;
  billedShare: number;
  wallMs: number;
  /** What Foreman's own report says the run cost (its price table with the cache multipliers). */
  costUsd: number;
  /** The first wave went out before the first answer: nobody waited for a leader. */
  waited: boolean;
}

const row = (scenario: string, prefixes: 'on' | 'off', totals: FakeCacheTotals, run: { wallMs: number; costUsd: number }, waited: boolean): CacheRow => ({
  scenario,
  prefixes,
  requests: totals.requests,
  promptTokens: promptTokens(totals),
  readShare: readShare(totals),
  written: totals.write5m + totals.write1h,
  billedShare: billedShare(totals),
  wallMs: Math.round(run.wallMs),
  costUsd: run.costUsd,
  waited,
});

/** Whether any of the first wave waited for another's answer. */
function firstWaveWaited(requests: FakeRequest[]): boolean {
  const sent = [...requests].sort((a, b) => a.receivedAt - b.receivedAt);
  return sent.slice(0, CONCURRENCY).some((req) => req.receivedAt >= sent[0]!.respondedAt!);
}

async function scenario(name: string, ref: string, prefixes: 'on' | 'off', options: { handler?: (req: FakeRequest) => Promise<void>; measured?: (req: FakeRequest) => boolean } = {}): Promise<CacheRow> {
  const fake = await startFakeAnthropic({ latencyMs: LATENCY_MS, promptCache: {}, handler: async (req) => (await options.handler?.(req), [text('ok')]) });
  try {
    const repo = makeRepo({ 'README.md': 'cache\n', ...SCRIPTS });
    const env = cliEnv({ home: tempDir(), baseURL: fake.url });
    // A new store's first request goes alone, to learn the organisation's rate limits: a home
    // that has talked to the API before, as a user's has, so that a wait is the cache's alone.
    await worker(['run', repo, 'hello', '1', prefixes], env);
    const seen = fake.requests.length;
    const out = await worker(['run', repo, ref, String(CONCURRENCY), prefixes], env);
    if (out.status !== 'completed') throw new Error(`${ref} ended ${out.status}`);
    const requests = fake.requests.slice(seen);
    return row(name, prefixes, sumOf(options.measured ? requests.filter(options.measured) : requests), out, firstWaveWaited(requests));
  } finally {
    await fake.close();
  }
}

/** A run stopped by its agent cap after 40 agents, resumed 3 minutes later (the fake's clock): the resume's requests. */
async function resumed(prefixes: 'on' | 'off'): Promise<CacheRow> {
  let now = Date.now();
  const fake: FakeAnthropic = await startFakeAnthropic({ latencyMs: LATENCY_MS, promptCache: { now: () => now }, handler: () => [text('ok')] });
  try {
    const repo = makeRepo({ 'README.md': 'cache\n', ...SCRIPTS });
    const env = cliEnv({ home: tempDir(), baseURL: fake.url });
    await worker(['run', repo, 'hello', '1', prefixes], env);
    const first = await worker(['run', repo, 'siblings', String(CONCURRENCY), prefixes, '40'], env);
    const seen = fake.requests.length;
    now += 3 * 60_000;
    const again = await worker(['resume', repo, first.runId, String(CONCURRENCY), prefixes, '1000'], env);
    if (again.status !== 'completed') throw new Error(`the resume ended ${again.status}`);
    return row('resume 3 min after a stop (60 agents)', prefixes, sumOf(fake.requests.slice(seen)), again, firstWaveWaited(fake.requests.slice(seen)));
  } finally {
    await fake.close();
  }
}

export async function cacheBench(): Promise<CacheRow[]> {
  const rows: CacheRow[] = [];
  for (const prefixes of ['on', 'off'] as const) {
    rows.push(await scenario('100 siblings, 6k-token preamble', 'siblings', prefixes));
    rows.push(await scenario('pipeline stage, 20 items over time', 'staged', prefixes, { handler: spreadFirstStage, measured: isStagedPreamble }));
    rows.push(await scenario('30 agents, nothing in common', 'unrelated', prefixes));
    rows.push(await resumed(prefixes));
  }
  return rows;
}
