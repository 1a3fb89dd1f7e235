// Resume after SIGKILL in the middle of a fan-out: only the unfinished agents call the model again.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { runCli, startCli } from './support/cli.ts';

/** A test's own fake model, closed when the test ends. */
interface Model {
  fake: FakeAnthropic;
  /** How many times each prompt asked the model. */
  callsByPrompt: Map<string, number>;
  /** While on, tasks 10 and up hang for 5 s, so a kill lands mid fan-out. */
  slow: { on: boolean };
}

async function model(t: TestContext): Promise<Model> {
  const callsByPrompt = new Map<string, number>();
  const slow = { on: true };
  const fake = await startFakeAnthropic({
    handler: async (req) => {
      callsByPrompt.set(req.prompt, (callsByPrompt.get(req.prompt) ?? 0) + 1);
      if (req.prompt.includes('read notes') && req.turn === 0) return [toolUse('read_file', { path: 'notes.txt' })];
      const n = Number(/task (\d+)/.exec(req.prompt)?.[1]);
      if (slow.on && n >= 10) await new Promise((r) => setTimeout(r, 5000));
      return [text(`done ${n}`)];
    },
  });
  t.after(() => fake.close());
  return { fake, callsByPrompt, slow };
}

const SCRIPT = `export const meta = { name: 'fan', description: 'fan-out' }
phase('Fan')
const out = await parallel(Array.from({ length: 20 }, (_, i) => () => agent('task ' + i, { label: 't' + i })))
return out
`;

function journalCount(dbFile: string, runId?: string): number {
  try {
    const db = new DatabaseSync(dbFile, { readOnly: true });
    const row = (runId ? db.prepare('SELECT COUNT(*) AS n FROM journal WHERE run_id = ?').get(runId) : db.prepare('SELECT COUNT(*) AS n FROM journal').get()) as { n: number };
    db.close();
    return Number(row.n);
  } catch {
    return 0;
  }
}

test('resume after SIGKILL in a fan-out calls the model only for the unfinished agents', async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'README.md': 'x\n', '.claude/workflows/fan.js': SCRIPT });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const dbFile = join(home, '.foreman', 'foreman.db');

  const { child, done } = startCli(['run', 'fan', '--repo', repo, '--concurrency', '4'], env);
  const deadline = Date.now() + 20_000;
  while (journalCount(dbFile) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  const runId = /^run (\S+)/.exec(killed.stderr)![1];
  const journaled = journalCount(dbFile, runId);
  assert.ok(journaled >= 10 && journaled < 20, `journaled ${journaled}`);

  // The killed run left its base checkout behind; the resume prunes it.
  assert.equal(gitIn(repo, 'worktree', 'list').trim().split('\n').length, 2);
  const listed = JSON.parse((await runCli(['runs', '--json'], env)).stdout);
  assert.equal(listed[0].runId, runId);
  assert.equal(listed[0].status, 'interrupted');

  m.slow.on = false;
  const callsBefore = m.fake.calls;
  const resumed = await runCli(['resume', runId, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.stderr.split('\n')[0], `run ${runId}`);
  assert.equal(m.fake.calls - callsBefore, 20 - journaled, 'only unfinished agents call the model');
  const out = JSON.parse(resumed.stdout);
  assert.deepEqual(out.result, Array.from({ length: 20 }, (_, i) => `done ${i}`));
  assert.equal(out.agents, 20);
  // Every agent that finished before the kill was called exactly once across both executions.
  for (let i = 0; i < 10; i++) assert.equal(m.callsByPrompt.get(`task ${i}`), 1, `task ${i}`);

  assert.equal(gitIn(repo, 'worktree', 'list').trim().split('\n').length, 1, 'no Foreman worktree left');
  // A finished run replays entirely from the journal.
  const again = m.fake.calls;
  const replay = await runCli(['resume', runId, '--json'], env);
  assert.equal(replay.code, 0, replay.stderr);
  assert.equal(m.fake.calls, again);
  assert.deepEqual(JSON.parse(replay.stdout).result, out.result);
});

test("runs --json lists runs newest first; show prints an agent's prompt, tool calls and result", async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'notes.txt': 'alpha\nbeta\n', '.claude/workflows/one.js': `export const meta = { name: 'one', description: 'one agent' }\nreturn await agent('task 1 read notes', { label: 'reader' })\n` });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const first = await runCli(['run', 'one', '--repo', repo], env);
  const second = await runCli(['run', 'one', '--repo', repo], env);
  assert.equal(first.code, 0, first.stderr);
  const ids = [first, second].map((r) => /^run (\S+)/.exec(r.stderr)![1]);
  const runs = JSON.parse((await runCli(['runs', '--json'], env)).stdout);
  assert.deepEqual(runs.map((r: { runId: string }) => r.runId), [ids[1], ids[0]]);
  assert.deepEqual(Object.keys(runs[0]).sort(), ['finishedAt', 'runId', 'startedAt', 'status', 'workflow']);
  assert.equal(runs[0].status, 'completed');

  const show = await runCli(['show', ids[0]], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /run .* one .* completed/);
  assert.match(show.stdout, /1 +done +\[Run\] reader/);
  const agent = await runCli(['show', ids[0], '--agent', '1'], env);
  assert.match(agent.stdout, /prompt:\ntask 1 read notes/);
  assert.match(agent.stdout, /> read_file \{"path":"notes.txt"\}\n.*alpha/);
  assert.match(agent.stdout, /result:\ndone 1/);
  // The prompt is stored once, in the agent's row; its transcript reads it back in its place.
  const db = new DatabaseSync(join(home, '.foreman', 'foreman.db'));
  const row = db.prepare('SELECT prompt, transcript FROM agents LIMIT 1').get() as { prompt: string; transcript: string };
  db.close();
  assert.equal(row.prompt, 'task 1 read notes');
  assert.ok(!row.transcript.includes('task 1 read notes'), row.transcript.slice(0, 200));
  const asJson = JSON.parse((await runCli(['show', ids[0], '--agent', '1', '--json'], env)).stdout);
  assert.deepEqual(Object.keys(asJson.transcript), ['system', 'prompt', 'turns', 'final']);
  assert.equal(asJson.transcript.prompt, 'task 1 read notes');
  const missing = await runCli(['show', 'nope'], env);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no run nope: `foreman runs` lists the runs/);
});

test('SIGINT stops the run: agents are aborted, the run is marked stopped, exit 1, and resume finishes it', async (t) => {
  const m = await model(t);
  const repo = makeRepo({ 'README.md': 'x\n', '.claude/workflows/fan.js': SCRIPT });
  const home = tempDir();
  const env = { home, baseURL: m.fake.url };
  const { child, done } = startCli(['run', 'fan', '--repo', repo, '--concurrency', '4'], env);
  const dbFile = join(home, '.foreman', 'foreman.db');
  while (journalCount(dbFile) < 10) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const stopped = await done;
  assert.equal(stopped.code, 1, stopped.stderr);
  assert.match(stopped.stderr, /^foreman: stopping: agents are aborted and the run stays resumable/m);
  assert.match(stopped.stderr, /the run was stopped; `foreman resume \S+` continues it/);
  const runId = /^run (\S+)/.exec(stopped.stderr)![1];
  assert.equal(JSON.parse((await runCli(['runs', '--json'], env)).stdout)[0].status, 'stopped');
  assert.equal(gitIn(repo, 'worktree', 'list').trim().split('\n').length, 1, 'a stopped run leaves no worktree');

  m.slow.on = false;
  const resumed = await runCli(['resume', runId, '--json'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).result.length, 20);
});
