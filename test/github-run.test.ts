// The texts of a run on GitHub are pure functions in src/report/github-run.ts; the writer in
// src/github/run-report.ts only sends them (its end-to-end behaviour: run-report.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_CONTROLS, commentBody, liveCommentText, MAX_OUTPUT_CHARS, notStartedCommentText, phaseCheckOutput, runningSummaryTitle, summaryCheckText, type RunView } from '../src/report/github-run.ts';

const view: RunView = {
  runId: 'r1', workflow: 'audit', trigger: '`/workflow audit` by @octocat', headSha: 'abcdef1234567', summaryUrl: 'https://github.com/o/r/runs/1',
  plan: ['Scan', 'Verify'], proposals: [{ label: 'fix [x](https://evil)', url: null, branch: 'foreman/r1/fix' }], controls: APP_CONTROLS, phaseUrl: () => null,
};
const usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

test('the live comment shows who started the run, the phases still to come, the proposals inert, and how to stop it', () => {
  const summary = { phases: [{ title: 'Scan', agents: 1, done: 1, failed: 0, stopped: 0, replayed: 0, refused: 0, running: 0, queued: 0, tokens: 10, usage, costUsd: 0, elapsedMs: 1 }], agents: 1, usage, costUsd: 0, elapsedMs: 1 };
  const text = liveCommentText(view, summary);
  assert.match(text, /^### Foreman · `audit` · ⏳ running\n\nRun `r1`, started by `\/workflow audit` by @octocat on abcdef1\. \[Checks\]\(https:\/\/github.com\/o\/r\/runs\/1\)/);
  assert.match(text, /Still to come: \*\*Verify\*\*\./);
  assert.match(text, /\*\*Pull requests\*\*\n\n- branch `foreman\/r1\/fix`: fix /);
  assert.doesNotMatch(text, /\[x\]\(https:\/\/evil\)/, 'a label cannot make a link');
  assert.ok(text.endsWith('Stop it with `/workflow stop r1` or the **Stop** button on the check.'));
  assert.equal(notStartedCommentText(view, 'no such workflow'), '### Foreman · `audit` · ❌ not started\n\nno such workflow');
});

test("a comment over GitHub's limit is cut at a line, and its marker is never cut off", () => {
  const marker = '<!-- foreman run r1 -->';
  const body = commentBody(`${'line\n'.repeat(20_000)}`, marker);
  assert.ok(body.length <= MAX_OUTPUT_CHARS);
  assert.ok(body.endsWith(`line\n\n${marker}`));
  assert.equal(commentBody('short', null), 'short');
});

test("src/github keeps Octokit's types: no call or response there is `any`", async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../src/github/', import.meta.url);
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    assert.doesNotMatch(source, /:\s*any\b|\bas any\b|<any>|\{ data: any \}/, `src/github/${file} types its Octokit calls (Endpoints from @octokit/types)`);
  }
});

test('the check runs show the cache: its share of prompt tokens in the titles, reads and writes in the tables', () => {
  // 9,000 of 12,000 prompt tokens read from the cache: 75%.
  const cached = { input: 1_000, output: 500, cacheRead: 9_000, cacheWrite: 2_000, cacheWrite1h: 2_000 };
  const phase = { title: 'Scan', agents: 2, done: 2, failed: 0, stopped: 0, replayed: 0, refused: 0, running: 0, queued: 0, tokens: 12_500, usage: cached, costUsd: 0.0123, elapsedMs: 4_200 };
  const check = phaseCheckOutput(view, 'Scan', [], phase);
  assert.equal(check.title, '2 agents done · 12.5k tokens (75% from cache) · $0.0123 · 4.2s');
  assert.match(check.summary, /\| tokens \| cache \| cost \| time \|\n\| ---: \| ---: \| ---: \| ---: \| ---: \| ---: \| ---: \| ---: \| ---: \| ---: \|\n\| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \| 12\.5k \| 75% r9\.0k w2\.0k \| \$0\.0123 \| 4\.2s \|$/);
  const summary = { phases: [phase], agents: 2, usage: cached, costUsd: 0.0123, elapsedMs: 4_200 };
  assert.equal(runningSummaryTitle(summary), '2 agents · 12.5k tokens (75% from cache) · $0.0123');
  const text = summaryCheckText(view, summary).split('\n');
  assert.ok(text.includes('| Scan | 2 | 0 | 0 | 0 | 0 | 12.5k | 75% r9.0k w2.0k | $0.0123 | 4.2s |'), text.join('\n'));
  assert.ok(text.includes('| **total** | 2 | | | | | 12.5k | 75% r9.0k w2.0k | $0.0123 | 4.2s |'), text.join('\n'));
  // A phase that never touched the cache reads as before: no column, no share.
  const plain = phaseCheckOutput(view, 'Scan', [], { ...phase, usage: { input: 12_000, output: 500, cacheRead: 0, cacheWrite: 0 } });
  assert.equal(plain.title, '2 agents done · 12.5k tokens · $0.0123 · 4.2s');
  assert.doesNotMatch(plain.summary, /cache/);
});
