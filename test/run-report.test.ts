// How a run reaches GitHub's Checks API: updates of a check are throttled, annotations go out
// 50 per request. Real @octokit/core against nock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Octokit } from '@octokit/core';
import nock from 'nock';
import { gunzipSync } from 'node:zlib';
import { GitHubRunReport } from '../src/github/run-report.ts';
import type { RunOutcome } from '../src/runtime/engine.ts';
import { zeroUsage } from '../src/contracts/usage.ts';

const API = 'https://api.github.test';

before(() => nock.disableNetConnect());
after(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

function recorder() {
  const calls: Array<{ method: string; path: string; body: any; at: number; id: number }> = [];
  let next = 1;
  const record = (method: string) => async (req: Request) => {
    const text = await req.text();
    const path = new URL(req.url).pathname;
    const id = method === 'POST' ? next++ : Number(path.split('/').pop());
    calls.push({ method, path, body: text ? JSON.parse(text) : null, at: Date.now(), id });
    return { id, html_url: `https://github.test/checks/${id}` };
  };
  nock(API).persist().post('/repos/o/r/check-runs').reply(201, record('POST')).patch(/\/repos\/o\/r\/check-runs\/\d+$/).reply(200, record('PATCH'));
  return calls;
}

/** The report of a run of workflow `w` on GitHub's API above, its check updates `intervalMs` apart at most. */
const workflowReport = (intervalMs: number) =>
  new GitHubRunReport(
    { octokit: new Octokit({ baseUrl: API }), owner: 'o', repo: 'r', headSha: 'a'.repeat(40), issueNumber: null, progressCommentId: null, workflow: 'w', trigger: 'a test', version: '0' },
    { intervalMs },
  );

const outcome = (result: unknown, agents: number): RunOutcome => ({
  runId: 'r1',
  status: 'completed',
  result,
  error: null,
  summary: { phases: [], agents, usage: zeroUsage(), costUsd: 0, elapsedMs: 0 },
});

test('a thousand agent events make a handful of check updates, not a thousand', async () => {
  const calls = recorder();
  const report = workflowReport(200);
  await report.started('r1');
  report.listener({ type: 'phase', title: 'Scan' });
  const started = Date.now();
  for (let i = 0; i < 1000; i++) {
    report.listener({ type: 'agent-queued', phase: 'Scan', label: `a${i}` });
    report.listener({ type: 'agent-started', phase: 'Scan', label: `a${i}` });
    report.listener({ type: 'agent-finished', phase: 'Scan', label: `a${i}`, status: 'done', usage: zeroUsage(), costUsd: 0, elapsedMs: 1 });
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = Date.now() - started;
  await report.finish(outcome({}, 1000));
  nock.cleanAll();
  const scan = calls.find((c) => c.method === 'POST' && c.body.name === 'Foreman: w / Scan')!;
  const phasePatches = calls.filter((c) => c.method === 'PATCH' && c.id === scan.id);
  // At most one update per interval while events poured in, plus the completion.
  assert.ok(phasePatches.length <= Math.ceil(elapsed / 200) + 2, `${phasePatches.length} updates in ${elapsed} ms`);
  for (let i = 1; i < phasePatches.length - 1; i++) assert.ok(phasePatches[i].at - phasePatches[i - 1].at >= 150, 'updates are spaced by the interval');
  const done = phasePatches.at(-1)!.body;
  assert.equal(done.status, 'completed');
  assert.match(done.output.title, /^1000 agents done/);
  assert.match(done.output.text, /…and 700 more agents\./, 'the per-agent table is capped');
});

test('120 findings are annotated 50 at a time on the last phase check', async () => {
  const calls = recorder();
  const report = workflowReport(0);
  await report.started('r1');
  report.listener({ type: 'phase', title: 'Audit' });
  report.listener({ type: 'phase', title: 'Verify' });
  const findings = Array.from({ length: 120 }, (_, i) => ({ file: `src/f${i}.js`, line: i + 1, title: `problem ${i}`, severity: 'medium' }));
  findings.push({ file: '../outside.js', line: 1, title: 'leads out', severity: 'high' });
  await report.finish(outcome({ findings }, 2));
  nock.cleanAll();
  const created = calls.filter((c) => c.method === 'POST');
  const verify = created.find((c) => c.body.name === 'Foreman: w / Verify')!;
  const batches = calls.filter((c) => c.method === 'PATCH' && c.id === verify.id && c.body.output?.annotations?.length);
  assert.deepEqual(batches.map((b) => b.body.output.annotations.length), [50, 50, 20]);
  const paths = batches.flatMap((b) => b.body.output.annotations.map((a: any) => a.path));
  assert.ok(!paths.includes('../outside.js'), 'a path that leads out of the repository is not annotated');
  assert.deepEqual(batches[0].body.output.annotations[0], { path: 'src/f0.js', start_line: 1, end_line: 1, annotation_level: 'warning', title: 'problem 0', message: 'problem 0' });
});

test('sarif: the findings are uploaded to code scanning as gzipped SARIF for the run commit and ref', async () => {
  recorder();
  let upload: any;
  nock(API)
    .post('/repos/o/r/code-scanning/sarifs', (body) => ((upload = body), true))
    .reply(202, { id: 'sarif-1' });
  const report = new GitHubRunReport(
    { octokit: new Octokit({ baseUrl: API }), owner: 'o', repo: 'r', headSha: 'b'.repeat(40), issueNumber: null, progressCommentId: null, workflow: 'audit', trigger: 'a test', version: '1.2.3', sarif: { ref: 'refs/tags/v1.0.0' } },
    { intervalMs: 0 },
  );
  await report.started('r1');
  report.listener({ type: 'phase', title: 'Audit' });
  await report.finish(outcome({ findings: [{ file: 'src/a.js', line: 3, title: 'SQL built from input', detail: 'user input reaches the query', severity: 'critical', cwe: 'CWE-89' }] }, 1));
  nock.cleanAll();
  assert.equal(upload.commit_sha, 'b'.repeat(40));
  assert.equal(upload.ref, 'refs/tags/v1.0.0');
  const sarif = JSON.parse(gunzipSync(Buffer.from(upload.sarif, 'base64')).toString());
  assert.equal(sarif.version, '2.1.0');
  assert.equal(sarif.runs[0].tool.driver.name, 'Foreman');
  assert.deepEqual(sarif.runs[0].tool.driver.rules, [{ id: 'CWE-89', shortDescription: { text: 'CWE-89' } }]);
  assert.deepEqual(sarif.runs[0].results, [
    {
      ruleId: 'CWE-89',
      level: 'error',
      message: { text: 'SQL built from input\n\nuser input reaches the query' },
      locations: [{ physicalLocation: { artifactLocation: { uri: 'src/a.js' }, region: { startLine: 3 } } }],
    },
  ]);
});

test('the phase check and the summary check show what the agents read from and wrote to the cache', async () => {
  const calls = recorder();
  const report = workflowReport(0);
  await report.started('r1');
  report.listener({ type: 'phase', title: 'Scan' });
  // The leader writes the shared prefix, its sibling reads it: 6,000 of 14,400 prompt tokens read, 42%.
  const usages = [
    { input: 200, output: 50, cacheRead: 0, cacheWrite: 6_000 },
    { input: 200, output: 50, cacheRead: 6_000, cacheWrite: 2_000, cacheWrite1h: 2_000 },
  ];
  for (const [i, usage] of usages.entries()) {
    report.listener({ type: 'agent-queued', phase: 'Scan', label: `a${i}` });
    report.listener({ type: 'agent-started', phase: 'Scan', label: `a${i}` });
    report.listener({ type: 'agent-finished', phase: 'Scan', label: `a${i}`, status: 'done', usage, costUsd: 0.01, elapsedMs: 1 });
  }
  await report.finish(outcome({}, 2));
  nock.cleanAll();
  const scan = calls.find((c) => c.method === 'POST' && c.body.name === 'Foreman: w / Scan')!;
  const done = calls.filter((c) => c.method === 'PATCH' && c.id === scan.id).at(-1)!.body;
  assert.match(done.output.title, /^2 agents done · 14\.5k tokens \(42% from cache\) · /);
  assert.match(done.output.summary, /\| tokens \| cache \| cost \| time \|[^]*\| 14\.5k \| 42% r6\.0k w8\.0k \| \$0\.0200 \| /);
  const summaryCheck = calls.filter((c) => c.body?.output?.summary?.includes('| phase |')).at(-1)!.body;
  assert.match(summaryCheck.output.summary, /\| \[Scan\]\(https:[^)]*\) \| 2 \| 0 \| 0 \| 0 \| 0 \| 14\.5k \| 42% r6\.0k w8\.0k \| \$0\.0200 \|/);
  assert.match(summaryCheck.output.summary, /\| \*\*total\*\* \| 2 \| \| \| \| \| 14\.5k \| 42% r6\.0k w8\.0k \| \$0\.0200 \|/);
});
