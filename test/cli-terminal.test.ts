// The CLI on a terminal: the real bin under a pseudo-terminal, its output replayed as a terminal
// shows it. The run id stays on screen, and a Ctrl-C stop says so once, with figures that match
// what the store (and so `foreman show`) holds.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAnthropic, toolUse, type FakeAnthropic } from './support/fake-anthropic.ts';
import { makeRepo, tempDir } from './support/repo.ts';
import { runCli } from './support/cli.ts';
import { hasScript, screenOf, startOnTerminal } from './support/terminal.ts';

const skip = hasScript ? false : 'util-linux `script` is not installed: no pseudo-terminal to run foreman under';

/** A fake model per test, closed when it ends, so the model calls a test counts are its own. */
async function model(t: TestContext): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ latencyMs: 400, handler: (req) => [toolUse('submit_result', { file: req.prompt.split(' ')[1] })] });
  t.after(() => fake.close());
  return fake;
}

const SCAN = `export const meta = { name: 'scan', description: 'scan every file' }
phase('Scan')
const files = Array.from({ length: 16 }, (_, i) => 'f' + i + '.js')
const found = await parallel(files.map((f) => () => agent('Scan ' + f, { label: f, schema: { type: 'object', required: ['file'], properties: { file: { type: 'string' } } } })))
return { scanned: found.filter(Boolean).length }
`;

const RUN_ID = /^run (\d{8}-\d{6}-[0-9a-f]{4})$/;

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The figures of a phase's row in the last table on screen, by column name. */
function tableRow(screen: string[], phase: string): Record<string, string> {
  const headerAt = screen.findLastIndex((line) => line.startsWith('phase '));
  assert.ok(headerAt >= 0, `no phase table on screen:\n${screen.join('\n')}`);
  const header = screen[headerAt].split(/\s+/);
  const row = screen.slice(headerAt + 1).find((line) => line.split(/\s+/)[0] === phase);
  assert.ok(row, `no ${phase} row in the table:\n${screen.join('\n')}`);
  return Object.fromEntries(header.map((name, i) => [name, row.split(/\s+/)[i]]));
}

test('on a terminal the run id is the first line and stays on screen, above the live table and below it', { skip }, async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/scan.js': SCAN });
  const home = tempDir();
  const run = startOnTerminal(['run', 'scan', '--repo', repo, '--concurrency', '16'], { home, baseURL: fake.url });
  const { code, output } = await run.done;
  assert.equal(code, 0, output);
  const screen = screenOf(output).filter((line) => line !== '');
  const id = RUN_ID.exec(screen[0])?.[1];
  assert.ok(id, `the first line is not run <id>:\n${screen.join('\n')}`);
  // The id once more under the table, where it stays in view however long the log above grows.
  const totalAt = screen.findIndex((line) => line.startsWith('total '));
  assert.equal(screen[totalAt + 1], `run ${id}`);
  assert.equal(tableRow(screen, 'Scan').done, '16');
  assert.match(screen.find((line) => line.startsWith('completed: '))!, /^completed: 16 agents, 1\.9k tokens, \$\d+\.\d{4}, \d+\.\ds$/);
});

test('a terminal that reports no size (0 columns, 0 rows) gets one line per event instead of a table cut to one character a line', { skip }, async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/scan.js': SCAN });
  const run = startOnTerminal(['run', 'scan', '--repo', repo], { home: tempDir(), baseURL: fake.url }, { columns: 0, rows: 0 });
  const { code, output } = await run.done;
  assert.equal(code, 0, output);
  const lines = output.split(/\r?\n/);
  assert.equal(lines.filter((line) => /^agent done \[Scan\] f\d+\.js /.test(line)).length, 16, output);
  assert.ok(lines.some((line) => /^completed: 16 agents/.test(line)));
});

test('Ctrl-C stops the run with one line; the table and the summary count what the store holds', { skip }, async (t) => {
  const fake = await model(t);
  const repo = makeRepo({ '.claude/workflows/scan.js': SCAN });
  const home = tempDir();
  const before = fake.calls;
  const run = startOnTerminal(['run', 'scan', '--repo', repo, '--concurrency', '4'], { home, baseURL: fake.url });
  // The first four agents are done and the next four are in flight.
  await until(() => fake.calls - before >= 8, 'the second wave of agents');
  await new Promise((resolve) => setTimeout(resolve, 100));
  run.interrupt();
  const { code, output } = await run.done;
  assert.equal(code, 1, output);
  const screen = screenOf(output).filter((line) => line !== '');
  const id = RUN_ID.exec(screen[0])?.[1];
  assert.ok(id, `the first line is not run <id>:\n${screen.join('\n')}`);

  assert.equal(screen.filter((line) => /stopping/.test(line)).length, 1, screen.join('\n'));
  assert.deepEqual(screen.filter((line) => line.startsWith('warn ')), [], 'the stop causes no warnings');

  const shown = JSON.parse((await runCli(['show', id, '--json'], { home })).stdout) as { status: string; agents: Array<{ status: string }> };
  assert.equal(shown.status, 'stopped');
  const stored = (status: string) => shown.agents.filter((a) => a.status === status).length;
  assert.ok(stored('done') >= 4 && stored('stopped') >= 1, JSON.stringify(shown.agents.map((a) => a.status)));
  assert.equal(shown.agents.length, stored('done') + stored('stopped'), 'no agent failed');

  const row = tableRow(screen, 'Scan');
  assert.equal(row.done, String(stored('done')));
  assert.equal(row.stopped, String(stored('stopped')));
  assert.equal(row.failed, '0');
  assert.equal(row.running, '0');
  // Agents the stop kept from starting are not done: they are still queued, for a resume.
  assert.equal(row.queued, String(16 - shown.agents.length));
  const summary = screen.find((line) => line.startsWith('stopped: ')) ?? '';
  assert.ok(summary.startsWith(`stopped: ${shown.agents.length} agents (done ${stored('done')}, stopped ${stored('stopped')}), `), summary);

  // While it ran, no more agents were running than --concurrency allows.
  const running = [...output.matchAll(/Scan((?:\s+\d+){4,5})\s+[\d.]+k?\s/g)].map((m) => Number(m[1].trim().split(/\s+/).at(-2)));
  assert.ok(running.length > 0);
  assert.ok(Math.max(...running) <= 4, `running reached ${Math.max(...running)}`);
});
