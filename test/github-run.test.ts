// The texts of a run on GitHub are pure functions in src/report/github-run.ts; the writer in
// src/github/run-report.ts only sends them (its end-to-end behaviour: run-report.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_CONTROLS, commentBody, liveCommentText, MAX_OUTPUT_CHARS, notStartedCommentText, type RunView } from '../src/report/github-run.ts';

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
