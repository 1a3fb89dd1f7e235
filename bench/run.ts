// `npm run bench`: fan-out, resume, gate setup per change and worktrees per change,
// printed as figures and ratios.
// Never a timed test: it reports, it does not assert.
import { spawn } from 'node:child_process';
import { runWorker } from './child.ts';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic, text } from '../test/support/fake-anthropic.ts';
import { makeRepo, tempDir } from '../test/support/repo.ts';
import { cliEnv, BIN, runCli } from '../test/support/cli.ts';
import { CHANGES, gateSetup } from './gate-setup.ts';
import { worktreeBench } from './worktrees.ts';
import { RUNS as SANDBOX_RUNS, sandboxBench } from './sandbox.ts';
import { detectSandbox } from '../src/workspace/sandbox.ts';
import { RATE_PER_S, SECONDS, webhookBench } from './webhooks.ts';
import { memoryBench, TARGET_MB } from './memory.ts';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { AGENTS_PER_RUN, LATENCY_MS as WORKERS_LATENCY_MS, RUN_CONCURRENCY, RUNS as WORKER_RUNS, workersBench } from './workers.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { cacheBench, LATENCY_MS as CACHE_LATENCY_MS, type CacheRow } from './cache.ts';
import { SEGMENTS, segments, serverTimes, type Timeline } from './timeline.ts';

const AGENTS = 1000;
const CONCURRENCY = 16;
const FANOUT = `export const meta = { name: 'fanout', description: 'benchmark fan-out' }
const results = await parallel(Array.from({ length: ${AGENTS} }, (_, i) => () => agent('task ' + i + ': reply ok')))
return results.filter(Boolean).length
`;
const WORKER = fileURLToPath(new URL('./fanout-worker.ts', import.meta.url));
const SDK_FLOOR = fileURLToPath(new URL('./sdk-floor-worker.ts', import.meta.url));
/** Each store runs this many times, alternating, so drift on the machine touches both alike. */
const STORE_ROUNDS = 3;

export function table(rows: Array<Record<string, string | number>>): string {
  const headers = Object.keys(rows[0]);
  const cells = rows.map((r) => headers.map((h) => String(r[h])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padStart(widths[i])).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}

const HELLO = `export const meta = { name: 'hello', description: 'one agent' }
return await agent('hello')
`;

/**
 * The fan-out against the floors. `rounds` times, alternating, Foreman's run on a home that has
 * talked to the API before and the bare SDK: runs differ by a percent or two on this machine, the
 * floors as much as Foreman, so each figure is the median of its rounds.
 */
async function fanout(latencyMs: number, rounds = 1) {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], latencyMs, record: false });
  const repo = makeRepo({ 'README.md': 'bench\n', '.claude/workflows/fanout.js': FANOUT, '.claude/workflows/hello.js': HELLO });
  try {
    const floorEnv = cliEnv({ home: tempDir(), baseURL: fake.url });
    // The fake server stands for an API that is always warm: 300 plain requests first, so the run
    // measured first does not pay for the server's own cold start.
    await runWorker([SDK_FLOOR, 'http', fake.url, '300', String(CONCURRENCY)], floorEnv);
    // The same fan-out on a new store, whose first request goes alone to learn the organisation's
    // rate limits from its headers (shared-rate-limiter.ts): once per store, shown on its own.
    const newStore = await runWorker([WORKER, repo, 'fanout', String(CONCURRENCY)], cliEnv({ home: tempDir(), baseURL: fake.url }));
    const runs: Array<{ wallMs: number; cpuMs: number; maxRssMb: number; result: number; calls: number }> = [];
    const floors: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // The measured run's home has talked to the API before, as a user's or a worker's has.
      const env = cliEnv({ home: tempDir(), baseURL: fake.url });
      await runWorker([WORKER, repo, 'hello', '1'], env);
      const before = fake.calls;
      const stats = await runWorker([WORKER, repo, 'fanout', String(CONCURRENCY)], env);
      runs.push({ wallMs: stats.runWallMs, cpuMs: stats.cpuMs, maxRssMb: stats.maxRssMb, result: stats.result, calls: fake.calls - before });
      floors.push((await runWorker([SDK_FLOOR, 'sdk', fake.url, String(AGENTS), String(CONCURRENCY)], floorEnv)).wallMs);
    }
    const httpFloor = await runWorker([SDK_FLOOR, 'http', fake.url, String(AGENTS), String(CONCURRENCY)], floorEnv);
    const transportFloor = await runWorker([SDK_FLOOR, 'sdk-transport', fake.url, String(AGENTS), String(CONCURRENCY)], floorEnv);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const wallMs = median(runs.map((r) => r.wallMs));
    const floorMs = median(floors);
    const ideal = Math.ceil(AGENTS / CONCURRENCY) * latencyMs;
    const eff = (ms: number) => (latencyMs ? (ideal / ms).toFixed(3) : 'n/a');
    return {
      latency: `${latencyMs} ms`,
      rounds,
      agents: runs.map((r) => r.result).join('/'),
      'wall ms': rounds > 1 ? `${runs.map((r) => Math.round(r.wallMs)).join('/')} (median ${Math.round(wallMs)})` : Math.round(wallMs),
      'ideal ms': ideal,
      efficiency: eff(wallMs),
      'new store eff.': eff(newStore.runWallMs),
      'target eff.': latencyMs ? '>= 0.97' : '-',
      'bare SDK ms': rounds > 1 ? `${floors.map(Math.round).join('/')} (median ${Math.round(floorMs)})` : Math.round(floorMs),
      'SDK eff.': eff(floorMs),
      'SDK+transport eff.': eff(transportFloor.wallMs),
      'Foreman/SDK': (wallMs / floorMs).toFixed(3),
      'raw HTTP eff.': eff(httpFloor.wallMs),
      'cpu ms/agent': (median(runs.map((r) => r.cpuMs)) / AGENTS).toFixed(2),
      'peak RSS MB': Math.round(Math.max(...runs.map((r) => r.maxRssMb))),
      'target RSS': '<= 300',
      'model calls': runs.map((r) => r.calls).join('/'),
    };
  } finally {
    await fake.close();
  }
}

/**
 * Where one agent's time goes in the fan-out at `latencyMs`, segment by segment (timeline.ts), for
 * Foreman and for the SDK over Foreman's transport alone: what the runtime adds, and what the
 * transport and the machine do, side by side. One run each, on a fake that keeps its requests.
 */
async function fanoutTimeline(latencyMs: number) {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], latencyMs });
  const repo = makeRepo({ 'README.md': 'bench\n', '.claude/workflows/fanout.js': FANOUT, '.claude/workflows/hello.js': HELLO });
  try {
    const env = { ...cliEnv({ home: tempDir(), baseURL: fake.url }), FANOUT_TIMELINE: '1' };
    await runWorker([SDK_FLOOR, 'http', fake.url, '300', String(CONCURRENCY)], env);
    await runWorker([WORKER, repo, 'hello', '1'], env);
    const measure = async (args: string[]) => {
      fake.requests.length = 0;
      const connections = fake.connections;
      const out = (await runWorker(args, env)) as { timeline: Timeline; runWallMs?: number; wallMs?: number };
      return { means: segments(out.timeline, serverTimes(fake.requests)), connections: fake.connections - connections, wallMs: out.runWallMs ?? out.wallMs! };
    };
    const foreman = await measure([WORKER, repo, 'fanout', String(CONCURRENCY)]);
    const floor = await measure([SDK_FLOOR, 'sdk-transport', fake.url, String(AGENTS), String(CONCURRENCY)]);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const ideal = Math.ceil(AGENTS / CONCURRENCY) * latencyMs;
    return [
      ...SEGMENTS.map((segment, i) => ({ 'mean ms per agent': segment, Foreman: foreman.means[i]!.toFixed(2), 'SDK over the transport': floor.means[i]!.toFixed(2) })),
      { 'mean ms per agent': 'total', Foreman: sum(foreman.means).toFixed(2), 'SDK over the transport': sum(floor.means).toFixed(2) },
      { 'mean ms per agent': 'the whole fan-out, wall ms (efficiency)', Foreman: `${Math.round(foreman.wallMs)} (${(ideal / foreman.wallMs).toFixed(3)})`, 'SDK over the transport': `${Math.round(floor.wallMs)} (${(ideal / floor.wallMs).toFixed(3)})` },
      { 'mean ms per agent': 'connections the server saw', Foreman: String(foreman.connections), 'SDK over the transport': String(floor.connections) },
    ];
  } finally {
    await fake.close();
  }
}

/**
 * The same 1,000-agent fan-out at 100 ms with the run store on SQLite and on PostgreSQL (a private
 * cluster on loopback, fsync on as a real server has it), alternating; efficiency as in fanout().
 */
async function storeFanout(latencyMs: number) {
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], latencyMs, record: false });
  const cluster = await startPostgres();
  const repo = makeRepo({ 'README.md': 'bench\n', '.claude/workflows/fanout.js': FANOUT });
  try {
    // The test cluster skips fsync to start fast; journal commits here wait for the disk, as SQLite's do.
    const admin = new pg.Client({ connectionString: cluster.databaseUrl });
    await admin.connect();
    await admin.query('ALTER SYSTEM SET fsync = on');
    await admin.query('ALTER SYSTEM SET full_page_writes = on');
    await admin.query('SELECT pg_reload_conf()');
    await admin.end();
    await runWorker([SDK_FLOOR, 'http', fake.url, '300', String(CONCURRENCY)], cliEnv({ home: tempDir(), baseURL: fake.url }));
    const ideal = Math.ceil(AGENTS / CONCURRENCY) * latencyMs;
    const runs: Record<'sqlite' | 'postgres', Array<{ wallMs: number; cpuMs: number; agents: number; calls: number; journaled: number }>> = { sqlite: [], postgres: [] };
    for (let round = 0; round < STORE_ROUNDS; round++) {
      for (const engine of ['sqlite', 'postgres'] as const) {
        const home = tempDir();
        const env = cliEnv({ home, baseURL: fake.url });
        const args = [repo, 'fanout', String(CONCURRENCY)];
        const before = fake.calls;
        const databaseUrl = engine === 'postgres' ? await cluster.createDatabase() : '';
        const stats = await runWorker([WORKER, ...args, ...(databaseUrl ? [databaseUrl] : [])], env);
        // Counted in the store each engine was to use: the figures are only worth comparing if the journal went there.
        const journaled = engine === 'sqlite' ? sqliteJournalRows(join(home, '.foreman', 'foreman.db')) : await postgresJournalRows(databaseUrl);
        runs[engine].push({ wallMs: stats.runWallMs, cpuMs: stats.cpuMs, agents: stats.result, calls: fake.calls - before, journaled });
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const efficiency = (engine: 'sqlite' | 'postgres') => median(runs[engine].map((r) => ideal / r.wallMs));
    const rows = (['sqlite', 'postgres'] as const).map((engine) => ({
      store: engine === 'sqlite' ? 'SQLite (embedded)' : 'PostgreSQL (loopback)',
      agents: runs[engine].map((r) => r.agents).join('/'),
      'model calls': runs[engine].map((r) => r.calls).join('/'),
      'journal rows in it': runs[engine].map((r) => r.journaled).join('/'),
      'wall ms': runs[engine].map((r) => Math.round(r.wallMs)).join('/'),
      'ideal ms': ideal,
      'efficiency (median)': efficiency(engine).toFixed(3),
      'cpu ms/agent': median(runs[engine].map((r) => r.cpuMs / AGENTS)).toFixed(2),
    }));
    return { rows, ratio: efficiency('postgres') / efficiency('sqlite') };
  } finally {
    await cluster.stop();
    await fake.close();
  }
}

function sqliteJournalRows(file: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Number((db.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

async function postgresJournalRows(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query('SELECT COUNT(*) AS n FROM journal')).rows[0].n);
  } finally {
    await client.end();
  }
}

async function resume() {
  // Slow enough that a SIGKILL lands in the middle of the fan-out.
  const fake = await startFakeAnthropic({ handler: () => [text('ok')], latencyMs: 20, record: false });
  const repo = makeRepo({ 'README.md': 'bench\n', '.claude/workflows/fanout.js': FANOUT });
  const home = tempDir();
  const env = cliEnv({ home, baseURL: fake.url });
  try {
    const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'run', 'fanout', '--repo', repo, '--concurrency', String(CONCURRENCY)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const dbFile = join(home, '.foreman', 'foreman.db');
    let journaled = 0;
    while (journaled < AGENTS / 2) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        const db = new DatabaseSync(dbFile, { readOnly: true });
        journaled = Number((db.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n);
        db.close();
      } catch {
        // the store is not created yet
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const runId = /^run (\S+)/m.exec(stderr)![1];
    const db = new DatabaseSync(dbFile, { readOnly: true });
    journaled = Number((db.prepare('SELECT COUNT(*) AS n FROM journal WHERE run_id = ?').get(runId) as { n: number }).n);
    db.close();

    // Not execFileSync: the fake model lives in this process and must keep answering.
    const time = async (args: string[]) => {
      const before = fake.calls;
      const started = performance.now();
      const result = await runCli([...args, '--json'], { home, baseURL: fake.url });
      if (result.code !== 0) throw new Error(`foreman ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      const phases = JSON.parse(result.stdout).phases as Array<{ elapsedMs: number }>;
      return { ms: Math.round(performance.now() - started), inRunMs: Math.max(...phases.map((p) => p.elapsedMs)), calls: fake.calls - before };
    };
    const resumed = await time(['resume', runId]);
    const replay = await time(['resume', runId]);
    return [
      { measure: 'agents journaled at SIGKILL', value: journaled, target: '~500' },
      { measure: 'model calls on resume', value: resumed.calls, target: `${AGENTS - journaled} (unfinished agents)` },
      { measure: 'resume wall ms (whole process)', value: resumed.ms, target: '-' },
      { measure: 'replay of 1,000 journaled agents, ms inside the run', value: replay.inRunMs, target: '< 1000' },
      { measure: 'replay of 1,000 journaled agents, ms whole process', value: replay.ms, target: '-' },
      { measure: 'model calls on that replay', value: replay.calls, target: '0' },
    ];
  } finally {
    await fake.close();
  }
}

// `npm run bench -- resume` runs one part.
const g0 = (): string => {
  const sandbox = detectSandbox();
  return sandbox.kind === 'bwrap' ? 'on' : `OFF: ${sandbox.reason}`;
};
const only = process.argv[2];
/** The 100 ms fan-out, three rounds: measured once whether `fanout`, `cache` or both print it. */
let fanout100: ReturnType<typeof fanout> | null = null;
const fanoutAt100 = () => (fanout100 ??= fanout(100, 3));
if (!only || only === 'fanout') {
  console.log(`Fan-out: ${AGENTS} agents, ${CONCURRENCY} at once, fake Messages API on loopback\n`);
  console.log(table([await fanout(0), await fanoutAt100()]));
}
if (!only || only === 'fanout' || only === 'fanout-timeline') {
  console.log(`\nWhere an agent's time goes at 100 ms (one run each; segments in bench/timeline.ts)\n`);
  console.log(table(await fanoutTimeline(100)));
}
if (!only || only === 'fanout-postgres') {
  console.log(`\nFan-out by store: ${AGENTS} agents, ${CONCURRENCY} at once, 100 ms model latency, one worker; ${STORE_ROUNDS} runs each, alternating; ${availableParallelism()} CPUs (the fake model, PostgreSQL and the worker share them)\n`);
  const s = await storeFanout(100);
  console.log(table(s.rows));
  console.log('');
  console.log(table([{ measure: 'efficiency PostgreSQL / SQLite', value: s.ratio.toFixed(3), target: '>= 0.95' }]));
}
if (!only || only === 'cache') {
  console.log(`\nPrompt caching: the fake model billing caching as the API documents, ${CACHE_LATENCY_MS} ms; Foreman's shared prompt prefixes on and off\n`);
  const rows = await cacheBench();
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const target = (r: CacheRow) =>
    r.prefixes === 'off' ? '-' : r.scenario.startsWith('100') ? 'read >= 85%, billed <= 25%' : r.scenario.startsWith('pipeline') ? 'read >= 60%' : r.scenario.startsWith('30') ? 'billed <= 102%, no wait' : 'reads the first run\'s prefix';
  console.log(
    table(
      rows.map((r) => ({
        scenario: r.scenario,
        prefixes: r.prefixes,
        requests: r.requests,
        'prompt tokens': r.promptTokens,
        'read from cache': pct(r.readShare),
        'written': r.written,
        'billed vs uncached': pct(r.billedShare),
        'first wave waited': r.waited ? 'yes' : 'no',
        'wall ms': r.wallMs,
        'run cost USD (Foreman)': r.costUsd.toFixed(4),
        target: target(r),
      })),
    ),
  );
  // With the detection on (it always is): a fan-out whose prompts share nothing must not lose wall time to it.
  const f = await fanoutAt100();
  console.log('');
  console.log(
    table([
      { measure: `fan-out efficiency at 100 ms, ${AGENTS} agents, prefix detection on (median of 3)`, value: f.efficiency, target: 'median >= 0.97' },
      { measure: 'the bare SDK, the same requests (median of 3)', value: f['SDK eff.'], target: '-' },
      { measure: 'Foreman / bare SDK, wall', value: f['Foreman/SDK'], target: '-' },
    ]),
  );
}
if (!only || only === 'workers') {
  console.log(
    `\nWorkers on one PostgreSQL: ${WORKER_RUNS} runs of ${AGENTS_PER_RUN} agents (${RUN_CONCURRENCY} at a time per run, 2 runs per worker), fake model at ${WORKERS_LATENCY_MS} ms; separate worker processes\n`,
  );
  const w = await workersBench();
  const base = w.throughput[0]!.agentsPerHour;
  const sustainedBase = w.throughput[0]!.sustainedAgentsPerHour;
  // Each worker's CPU per agent (run set-up included) bounds what this machine can do, however many workers.
  const ceiling = (row: { cpuMsPerAgent: number }) => Math.round((w.cpus * 3_600_000) / row.cpuMsPerAgent);
  console.log(
    table(
      [...w.throughput, w.limited].map((row, i) => ({
        workers: row.workers,
        'rate limit': i === w.throughput.length ? `${w.limitPerMinute} requests/min` : 'none',
        agents: row.agents,
        'wall ms': Math.round(row.wallMs),
        'agents/hour': Math.round(row.agentsPerHour),
        'vs 1 worker': (row.agentsPerHour / base).toFixed(2),
        'sustained agents/hour': Math.round(row.sustainedAgentsPerHour),
        'sustained vs 1 worker': (row.sustainedAgentsPerHour / sustainedBase).toFixed(2),
        target: i === 2 ? '>= 3.6' : i === w.throughput.length ? `<= ${w.limitPerMinute} + ${w.limitPerMinute / 60}/s x wall` : '-',
        'answered 429': row.rateLimited,
        'worker cpu ms/agent': row.cpuMsPerAgent.toFixed(1),
        [`CPU ceiling (${w.cpus} CPUs), agents/hour`]: ceiling(row),
      })),
    ),
  );
  const f = w.failover;
  console.log('');
  console.log(
    table([
      { measure: 'kill -9 to the next worker\'s first new agent', value: `${(f.toFirstNewAgentMs / 1000).toFixed(1)} s`, target: `<= lease + 5 s = ${f.leaseSeconds + 5} s` },
      { measure: 'agents journaled at the kill', value: f.killedAtAgent, target: '-' },
      { measure: 'model calls after the kill / unfinished agents', value: `${f.modelCallsAfterKill} / ${f.unfinishedAtKill}`, target: 'equal' },
    ]),
  );
}
if (!only || only === 'resume') {
  console.log(`\nResume: a ${AGENTS}-agent run killed (SIGKILL) half way, then resumed\n`);
  console.log(table(await resume()));
}
if (!only || only === 'sandbox') {
  console.log(`\nSandbox start-up per command: bare spawn against bubblewrap, ${SANDBOX_RUNS} runs each, interleaved\n`);
  const ms = (n: number) => n.toFixed(1);
  console.log(
    table(
      (await sandboxBench()).map((r) => ({
        command: r.command,
        'bare median ms': ms(r.bareMedianMs),
        'sandbox median ms': ms(r.sandboxMedianMs),
        'overhead median ms': ms(r.overheadMedianMs),
        target: '<= 30',
        'ratio sandbox/bare': (r.sandboxMedianMs / r.bareMedianMs).toFixed(2),
        'bare p90 ms': ms(r.bareP90Ms),
        'sandbox p90 ms': ms(r.sandboxP90Ms),
      })),
    ),
  );
}
if (!only || only === 'gate') {
  console.log(`\nGate setup per change: ${CHANGES} changes of one commit, a dozen npm dependencies (npm registry, default npm cache, warmed first); Foreman's gate runs in the sandbox (${g0()})\n`);
  const g = await gateSetup();
  const verdict = (passed: boolean) => (passed ? 'pass' : 'fail');
  console.log(
    table(
      g.rows.map((r) => ({
        change: r.change,
        'naive worktree ms': r.naiveWorktreeMs,
        'naive npm ci ms': r.naiveSetupMs,
        'naive verdict': verdict(r.naivePassed),
        'Foreman worktree ms': r.foremanWorktreeMs,
        'Foreman setup ms': r.foremanSetupMs,
        reused: r.reused ? 'yes' : 'no',
        'Foreman verdict': verdict(r.foremanPassed),
      })),
    ),
  );
  console.log('');
  console.log(
    table([
      { measure: 'packages in the lockfile', value: g.packages, target: '-' },
      { measure: `setup ms, ${CHANGES} changes, naive (npm ci each)`, value: g.naiveSetupMs, target: '-' },
      { measure: `setup ms, ${CHANGES} changes, Foreman (first installs, rest reuse)`, value: g.foremanSetupMs, target: '-' },
      { measure: 'ratio naive / Foreman (first install included)', value: g.ratio.toFixed(2), target: '>= 5' },
      { measure: 'ratio per reused change (median npm ci / median reuse)', value: g.steadyRatio.toFixed(1), target: '-' },
      { measure: 'same verdicts', value: g.sameVerdicts ? 'yes' : 'NO', target: 'yes' },
      { measure: 'worktrees left', value: g.worktreesLeft, target: '0' },
    ]),
  );
}
if (!only || only === 'worktrees') {
  console.log('\nWorktrees per change: a synthetic 20,000-file repository, 8 changes one after another\n');
  console.log(table(await worktreeBench()));
}
if (!only || only === 'webhooks') {
  console.log(`\nWebhook acknowledgement: signed /workflow deliveries, ${RATE_PER_S} per second for ${SECONDS} s, a new connection each\n`);
  const w = await webhookBench();
  const row = (name: string, r: typeof w.foreman) => ({ server: name, sent: r.sent, 'not 200': r.failed, 'p50 ms': r.p50.toFixed(2), 'p99 ms': r.p99.toFixed(2), 'max ms': r.max.toFixed(1) });
  console.log(table([row('foreman app', w.foreman), row('bare Probot', w.bare)]));
  console.log('');
  console.log(
    table([
      { measure: 'p99 ms, foreman app', value: w.foreman.p99.toFixed(2), target: '<= 50' },
      { measure: 'p99 ratio foreman / bare Probot', value: (w.foreman.p99 / w.bare.p99).toFixed(2), target: '<= 1.2' },
      { measure: 'p50 ratio foreman / bare Probot', value: (w.foreman.p50 / w.bare.p50).toFixed(2), target: '-' },
    ]),
  );
}
if (!only || only === 'memory') {
  // A second argument measures another build of foreman (e.g. a checkout of an older commit).
  const other = only === 'memory' ? process.argv[3] : undefined;
  console.log(`\nHost memory under a hostile script: peak RSS of the foreman process, one run per attempt${other ? `, against ${other}` : ''}\n`);
  const rows = await memoryBench();
  const before = other ? await memoryBench(other) : null;
  console.log(
    table(
      rows.map((r, i) => ({
        attempt: r.attack,
        ...(before ? { 'other peak MB': before[i].peakMb, 'other output MB': before[i].outputMb.toFixed(1) } : {}),
        'peak RSS MB': r.peakMb,
        target: `<= ${TARGET_MB}`,
        'output MB': r.outputMb.toFixed(2),
        exit: String(r.exitCode),
        ms: r.ms,
      })),
    ),
  );
}
