// The GitHub App's webhook side and the intake of `/workflow` comments: a real Probot instance on
// a local port, signed deliveries built from @octokit/webhooks-examples, GitHub's API in nock.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import nock from 'nock';
import { createRequire } from 'node:module';
import { HELP } from '../src/app/intake.ts';
import { API, exampleComment, prComment, startApp, type AppHarness } from './support/github-app.ts';

const REPO = '/repos/Codertocat/Hello-World';
// Each test gets an App of its own (its own queue, registry and recorded problems), so none sees
// jobs, runs or comments another left behind.
let h: AppHarness;

before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
beforeEach(async () => {
  h = await startApp();
});
afterEach(async () => {
  await h.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  assert.deepEqual(pending, [], 'every expected GitHub call was made');
});
after(() => {
  nock.enableNetConnect();
});

/** The calls every intake makes: an installation token, the config (repo, then the org's .github). */
function intake(config: string | null = null): nock.Scope {
  // Probot caches the installation token: only the first intake asks for one.
  const scope = nock(API).post('/app/installations/1/access_tokens').optionally().reply(201, { token: 'ghs_installation', expires_at: '2099-01-01T00:00:00Z' });
  if (config === null) {
    scope.get(`${REPO}/contents/.github%2Fforeman.yml`).reply(404).get('/repos/Codertocat/.github/contents/.github%2Fforeman.yml').reply(404);
  } else {
    scope.get(`${REPO}/contents/.github%2Fforeman.yml`).reply(200, config);
  }
  return scope;
}

const permission = (scope: nock.Scope, login: string, role: string) =>
  scope.get(`${REPO}/collaborators/${login}/permission`).reply(200, { permission: role === 'maintain' ? 'write' : role, role_name: role, user: { login } });

/** Waits until the intake loop has finished every comment job. */
async function settled(): Promise<Record<string, number>> {
  for (let i = 0; i < 200; i++) {
    const counts = await h.queue.counts('comment');
    if (!counts.queued && !counts.claimed) return counts;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('intake did not settle');
}

/** Done with the queued runs: the next test's runJobs() sees only its own. */
async function finishRunJobs(): Promise<void> {
  for (let job; (job = await h.queue.claim(['start', 'resume'], 'test-claimer')); ) await h.queue.finish(job);
}

async function runJobs(): Promise<any[]> {
  const jobs = [];
  for (let job; (job = await h.queue.claim(['start', 'resume'], 'test-claimer')); ) jobs.push(job);
  for (const job of jobs) await h.queue.release(job);
  return jobs;
}

test('unsigned and wrongly signed deliveries are refused, and nothing is queued', async () => {
  const payload = prComment('/workflow audit auth');
  const before = await h.queue.counts();
  assert.equal((await h.deliver('issue_comment', payload, { signature: null })).status, 401);
  assert.equal((await h.deliver('issue_comment', payload, { signature: `sha256=${'0'.repeat(64)}` })).status, 401);
  assert.deepEqual(await h.queue.counts(), before);
});

test('a /workflow comment by a writer on a pull request: acknowledged at once, checked, reacted to, and its run queued', async () => {
  const scope = intake();
  permission(scope, 'Codertocat', 'write');
  let reaction: unknown;
  scope.post(`${REPO}/issues/comments/492700400/reactions`, (body) => ((reaction = body), true)).reply(201, {});

  const delivery = await h.deliver('issue_comment', prComment('/workflow audit {"concern": "auth"}'));
  assert.equal(delivery.status, 200);
  await settled();
  assert.deepEqual(reaction, { content: 'eyes' });
  const [run] = await runJobs();
  assert.equal(run.kind, 'start');
  assert.equal(run.key, 'comment:Codertocat/Hello-World#492700400');
  const { context } = run.payload;
  assert.equal(context.workflow, 'audit');
  assert.deepEqual(context.args, { concern: 'auth' });
  assert.equal(context.trigger, '`/workflow audit {"concern": "auth"}` by @Codertocat');
  assert.equal(context.isPullRequest, true);
  assert.equal(context.issueNumber, 1);
  assert.equal(context.installationId, 1);
  assert.equal(context.cloneUrl, 'https://github.com/Codertocat/Hello-World.git');
  assert.deepEqual(context.config, {});
  assert.equal(delivery.status, 200);
  await finishRunJobs();
});

test('a commenter without write access gets one polite refusal, once, and no run', async () => {
  const scope = intake();
  permission(scope, 'visitor', 'read');
  let refusal = '';
  scope.post(`${REPO}/issues/1/comments`, (body) => ((refusal = body.body), true)).reply(201, {});
  const payload = prComment('/workflow audit auth', { login: 'visitor', commentId: 7001 });
  const first = await h.deliver('issue_comment', payload);
  await settled();
  assert.match(refusal, /^@visitor, thanks for asking: Foreman starts workflows only for people with \*\*write\*\* access to this repository \(you have read\)/);
  // GitHub redelivers the same delivery: nothing is said or run again (no mock is left for it).
  assert.equal((await h.deliver('issue_comment', payload, { id: first.id })).status, 200);
  await settled();
  assert.deepEqual(await runJobs(), []);
});

test('comments by bots, Foreman included, and comments that are no command are ignored without a call', async () => {
  const before = await h.queue.counts();
  assert.equal((await h.deliver('issue_comment', prComment('/workflow audit auth', { login: 'foreman[bot]', type: 'Bot' }))).status, 200);
  assert.equal((await h.deliver('issue_comment', prComment('looks good, /workflow later'))).status, 200);
  const edited = { ...prComment('/workflow audit auth'), action: 'edited', changes: { body: { from: 'x' } } };
  assert.equal((await h.deliver('issue_comment', edited)).status, 200);
  const deleted = { ...prComment('/workflow audit auth'), action: 'deleted' };
  assert.equal((await h.deliver('issue_comment', deleted)).status, 200);
  await settled();
  assert.deepEqual(await h.queue.counts(), before);
});

test('an invalid config gets one comment naming the key and the fix, and no run', async () => {
  const scope = intake('limits:\n  concurrency: lots\n');
  permission(scope, 'Codertocat', 'write');
  scope.post(`${REPO}/issues/comments/7002/reactions`).reply(201, {});
  let said = '';
  scope.post(`${REPO}/issues/1/comments`, (body) => ((said = body.body), true)).reply(201, {});
  await h.deliver('issue_comment', prComment('/workflow audit auth', { commentId: 7002 }));
  await settled();
  assert.match(said, /cannot use this repository's config/);
  assert.match(said, /limits\.concurrency/);
  assert.deepEqual(await runJobs(), []);
});

test('permissions.trigger raises the bar: a writer is refused where maintain is needed', async () => {
  const scope = intake('permissions:\n  trigger: maintain\n');
  permission(scope, 'Codertocat', 'write');
  let refusal = '';
  scope.post(`${REPO}/issues/1/comments`, (body) => ((refusal = body.body), true)).reply(201, {});
  await h.deliver('issue_comment', prComment('/workflow audit auth', { commentId: 7003 }));
  await settled();
  assert.match(refusal, /\*\*maintain\*\* access .*\(you have write\)/);
  assert.deepEqual(await runJobs(), []);
});

test('/workflow help and a malformed command are answered with the commands', async () => {
  for (const [body, expected] of [
    ['/workflow help', HELP],
    ['/workflow stop now please', /not understood: use `\/workflow stop \[run\]`/],
  ] as const) {
    const scope = intake();
    permission(scope, 'Codertocat', 'admin');
    scope.post(/\/reactions$/).reply(201, {});
    let said = '';
    scope.post(`${REPO}/issues/1/comments`, (b) => ((said = b.body), true)).reply(201, {});
    await h.deliver('issue_comment', prComment(body, { commentId: body.length + 8000 }));
    await settled();
    if (typeof expected === 'string') assert.equal(said, expected);
    else assert.match(said, expected);
  }
});

test('/workflow list answers with the saved workflows from GitHub and the built-in ones', async () => {
  const scope = intake();
  permission(scope, 'Codertocat', 'write');
  scope.post(/\/reactions$/).reply(201, {});
  scope.get(`${REPO}/contents/.claude%2Fworkflows`).reply(200, [
    { type: 'file', name: 'auth-audit.js' },
    { type: 'file', name: 'README.md' },
    { type: 'dir', name: 'lib' },
  ]);
  let said = '';
  scope.post(`${REPO}/issues/1/comments`, (b) => ((said = b.body), true)).reply(201, {});
  await h.deliver('issue_comment', prComment('/workflow list', { commentId: 7100 }));
  await settled();
  assert.match(said, /^\| `auth-audit` \| `\.claude\/workflows\/auth-audit\.js` \| \|$/m);
  for (const builtin of ['audit', 'security-sweep', 'fix-findings', 'review-pr']) assert.match(said, new RegExp(`^\\| \`${builtin}\` \\| built in \\| \\S`, 'm'));
  assert.doesNotMatch(said, /README|lib/);
});

test('the example delivery exactly as GitHub documents it (an issue, not a pull request) is not a command', async () => {
  const before = await h.queue.counts();
  assert.equal((await h.deliver('issue_comment', exampleComment())).status, 200);
  assert.deepEqual(await h.queue.counts(), before);
});

function labeled(name: string): any {
  const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as any[];
  const payload = structuredClone(examples.find((d) => d.name === 'pull_request').examples.find((e: any) => e.action === 'labeled' && e.installation));
  payload.label = { ...payload.label, name };
  payload.repository = exampleComment().repository;
  payload.installation = { id: 1 };
  payload.sender = { ...payload.sender, login: 'Codertocat', type: 'User' };
  return payload;
}

test('a label the config maps starts its workflow on the pull request; other labels cost one config read', async () => {
  const config = 'labels:\n  security-review: { workflow: audit, args: { concern: auth } }\n';
  const scope = intake(config);
  permission(scope, 'Codertocat', 'write');
  const payload = labeled('security-review');
  assert.equal((await h.deliver('pull_request', payload)).status, 200);
  await settledKind('event');
  const [run] = await runJobs();
  assert.equal(run.kind, 'start');
  assert.equal(run.payload.context.workflow, 'audit');
  assert.deepEqual(run.payload.context.args, { concern: 'auth' });
  assert.equal(run.payload.context.issueNumber, payload.pull_request.number);
  assert.equal(run.payload.context.isPullRequest, true);
  assert.equal(run.payload.context.trigger, 'the label `security-review` by @Codertocat');
  await finishRunJobs();

  intake(config);
  assert.equal((await h.deliver('pull_request', labeled('needs-docs'))).status, 200);
  await settledKind('event');
  assert.deepEqual(await runJobs(), []);
});

async function settledKind(kind: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const counts = await h.queue.counts(kind);
    if (!counts.queued && !counts.claimed) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${kind} intake did not settle`);
}

test('a config that is not valid YAML gets one comment saying so, and no run', async () => {
  const scope = intake('limits: [unclosed\n');
  permission(scope, 'Codertocat', 'write');
  scope.post(`${REPO}/issues/comments/7004/reactions`).reply(201, {});
  let said = '';
  scope.post(`${REPO}/issues/1/comments`, (body) => ((said = body.body), true)).reply(201, {});
  await h.deliver('issue_comment', prComment('/workflow audit auth', { commentId: 7004 }));
  await settled();
  assert.match(said, /\.github\/foreman\.yml could not be read: .*: fix the YAML syntax on the default branch/);
  assert.deepEqual(await runJobs(), []);
});

test('a published release starts on.release on its tag', async () => {
  const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as any[];
  const payload = structuredClone(examples.find((d) => d.name === 'release').examples.find((e: any) => e.action === 'published'));
  payload.repository = exampleComment().repository;
  payload.installation = { id: 1 };
  payload.sender = { ...payload.sender, login: 'Codertocat', type: 'User' };
  const scope = intake('on:\n  release: { workflow: security-sweep, args: { severity: high } }\n');
  permission(scope, 'Codertocat', 'write');
  assert.equal((await h.deliver('release', payload)).status, 200);
  await settledKind('event');
  const [run] = await runJobs();
  assert.equal(run.payload.tag, payload.release.tag_name);
  assert.equal(run.payload.context.workflow, 'security-sweep');
  assert.deepEqual(run.payload.context.args, { severity: 'high' });
  assert.equal(run.payload.context.issueNumber, null);
  assert.equal(run.payload.context.trigger, `the release \`${payload.release.tag_name}\` by @Codertocat`);
  await finishRunJobs();
});
