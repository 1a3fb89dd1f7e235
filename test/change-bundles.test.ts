// Nothing a resume needs lives on one worker's disk: change commits are kept in the run store as
// git bundles, made without fetching in a partial clone like the App's, and restored into whatever
// clone a resume runs in. Real git, real worktrees and gates, the service core and the fake model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { serviceEnv } from './support/service.ts';
import { openStore, resumeRun, startRun, storeFile, type ServiceEnv } from '../src/service/runs.ts';
import { bundleChange, restoreChange } from '../src/workspace/change-bundle.ts';
import type { RunEvent } from '../src/contracts/events.ts';
import type { Store } from '../src/contracts/store.ts';
import { restoreRunChanges } from '../src/service/kept-changes.ts';

/** Prompts asked, and how often: a replayed agent asks nothing. */
const asked = new Map<string, number>();
const fake = await startFakeAnthropic({
  handler: (req) => {
    asked.set(req.prompt, (asked.get(req.prompt) ?? 0) + 1);
    if (!req.prompt.includes('document add()')) return [text('ok')];
    return req.turn === 0 ? [toolUse('edit_file', { path: 'src/math.js', old_string: 'export function add', new_string: '// Adds two numbers.\nexport function add' })] : [text('documented add')];
  },
});
after(() => fake.close());

const PROJECT = {
  'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', scripts: { test: 'node --test' } }, null, 2),
  'src/math.js': 'export function add(a, b) {\n  return a + b\n}\n',
  'math.test.js': `import { test } from 'node:test'\nimport assert from 'node:assert/strict'\nimport { add } from './src/math.js'\ntest('add', () => assert.equal(add(2, 3), 5))\n`,
  'notes/big.txt': 'x'.repeat(50_000),
};

const SCRIPT = `export const meta = { name: 'fixit', description: 'document add' }
const c = await change('document add()', { label: 'document add' })
const verdict = await gate(c)
if (!verdict.passed) return 'gate failed'
const proposal = await propose(c, { title: 'Document add', body: 'A comment on add().' })
return proposal.branch
`;

/** A remote that serves partial clones, as GitHub does. */
function partialRemote(): string {
  const remote = makeRepo(PROJECT);
  gitIn(remote, 'config', 'uploadpack.allowFilter', 'true');
  return remote;
}

/** A bare clone without file contents, as the App keeps one per repository (src/github/clone.ts). */
function partialClone(remote: string): string {
  const dir = join(tempDir('foreman-clone-'), 'repo.git');
  gitIn(tempDir(), 'clone', '--quiet', '--bare', '--filter=blob:none', `file://${remote}`, dir);
  return dir;
}

/** A fresh home whose run is stopped at the first event of `type` (gate-finished: before its propose()). */
function stoppedAt(type: RunEvent['type'], events: RunEvent[]): ServiceEnv {
  const stop = new AbortController();
  const listener = (event: RunEvent): void => {
    events.push(event);
    if (event.type === type) stop.abort();
  };
  return serviceEnv(fake.url, [], { config: {}, signal: stop.signal, listener });
}

const missingObjects = (repo: string): number => gitIn(repo, 'rev-list', '--objects', '--all', '--missing=print').split('\n').filter((line) => line.startsWith('?')).length;

test('a run stopped before proposing is resumed in a fresh clone under a new home, the store alone kept, and proposes its change once', async () => {
  const remote = partialRemote();
  const base = gitIn(remote, 'rev-parse', 'HEAD').trim();

  // The first worker: its own clone and home. The run is stopped once the change passed its gate.
  const firstClone = partialClone(remote);
  const events: RunEvent[] = [];
  const first = stoppedAt('gate-finished', events);
  const stopped = await startRun({ ref: 'fixit', script: { source: SCRIPT, file: 'fixit.js' }, args: null, repoDir: firstClone, base }, first);
  assert.equal(stopped.status, 'stopped', stopped.error ?? '');
  const made = events.find((e) => e.type === 'change-made');
  assert.ok(made && made.type === 'change-made');
  assert.ok(events.some((e) => e.type === 'gate-finished' && e.passed));
  assert.ok(!events.some((e) => e.type === 'change-proposed'));
  const ref = `refs/foreman/${stopped.runId}/${made.changeId}`;
  const changeCommit = gitIn(firstClone, 'rev-parse', ref).trim();
  const changeTree = gitIn(firstClone, 'rev-parse', `${changeCommit}^{tree}`).trim();
  const callsBefore = fake.calls;

  // Everything of the first worker goes but the store: its clone, its worktrees, its home.
  const kept = join(tempDir('foreman-kept-'), 'foreman.db');
  renameSync(storeFile(first.home), kept);
  rmSync(first.home, { recursive: true, force: true });
  rmSync(firstClone, { recursive: true, force: true });
  assert.equal(existsSync(firstClone), false);

  // Another worker: a fresh clone of the remote, which never had the change, and a new home.
  const secondClone = partialClone(remote);
  assert.equal(gitIn(secondClone, 'for-each-ref', 'refs/foreman/').trim(), '');
  const resumedEvents: RunEvent[] = [];
  const second = serviceEnv(fake.url, resumedEvents, { config: {} });
  mkdirSync(second.home, { recursive: true });
  renameSync(kept, storeFile(second.home));
  const resumed = await resumeRun(stopped.runId, second, { repoDir: secondClone });
  assert.equal(resumed.status, 'completed', resumed.error ?? '');

  assert.equal(fake.calls, callsBefore, 'the change and its gate replay from the journal: no model call');
  const proposed = resumedEvents.filter((e) => e.type === 'change-proposed');
  assert.equal(proposed.length, 1);
  const branches = gitIn(secondClone, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/foreman/').split('\n').filter(Boolean);
  assert.deepEqual(branches, [resumed.result]);
  assert.equal(gitIn(secondClone, 'rev-parse', `${branches[0]}^{tree}`).trim(), changeTree, 'the proposal holds exactly the change the first worker made');
  assert.equal(gitIn(secondClone, 'rev-parse', `${branches[0]}^`).trim(), base);
  assert.match(gitIn(secondClone, 'show', `${branches[0]}:src/math.js`), /^\/\/ Adds two numbers\./);
  // The resume's worktrees were under its own home and are gone.
  assert.equal(gitIn(secondClone, 'worktree', 'list', '--porcelain').includes(first.home), false);
});

test("a run's shared working tree (plain agents' edits) is restored from the store in another clone, and proposed at the end", async () => {
  const remote = partialRemote();
  const firstClone = partialClone(remote);
  const first = stoppedAt('agent-finished', []);
  const script = `export const meta = { name: 'edits', description: 'plain agents edit' }
await agent('writer: document add() in src/math.js', { label: 'writer' })
await agent('reader: say ok', { label: 'reader' })
return 'done'
`;
  const stopped = await startRun({ ref: 'edits', script: { source: script, file: 'edits.js' }, args: null, repoDir: firstClone, base: 'HEAD' }, first);
  assert.equal(stopped.status, 'stopped', stopped.error ?? '');
  assert.equal(gitIn(firstClone, 'for-each-ref', '--format=%(refname)', 'refs/foreman/').trim(), `refs/foreman/${stopped.runId}/shared`);
  const writerCalls = asked.get('writer: document add() in src/math.js');

  const secondClone = partialClone(remote);
  const second = serviceEnv(fake.url, [], { config: {} });
  mkdirSync(second.home, { recursive: true });
  renameSync(storeFile(first.home), storeFile(second.home));
  rmSync(first.home, { recursive: true, force: true });
  rmSync(firstClone, { recursive: true, force: true });
  const resumedEvents: RunEvent[] = [];
  const resumed = await resumeRun(stopped.runId, { ...second, listener: (event) => resumedEvents.push(event) }, { repoDir: secondClone });
  assert.equal(resumed.status, 'completed', resumed.error ?? '');
  assert.equal(asked.get('writer: document add() in src/math.js'), writerCalls, 'the writer replays');
  const proposed = resumedEvents.filter((e) => e.type === 'change-proposed');
  assert.equal(proposed.length, 1, JSON.stringify(resumedEvents.filter((e) => e.type === 'warn')));
  const branch = proposed[0]!.type === 'change-proposed' ? proposed[0]!.branch : '';
  assert.match(gitIn(secondClone, 'show', `${branch}:src/math.js`), /^\/\/ Adds two numbers\.\nexport function add/);
});

test('the store holds each change ref as a bundle once it exists, and forgets a proposed one when the run completes', async () => {
  const remote = partialRemote();
  const clone = partialClone(remote);
  const events: RunEvent[] = [];
  const env = stoppedAt('gate-finished', events);
  const stopped = await startRun({ ref: 'fixit', script: { source: SCRIPT, file: 'fixit.js' }, args: null, repoDir: clone, base: 'HEAD' }, env);
  const made = events.find((e) => e.type === 'change-made')!;
  assert.equal(made.type, 'change-made');
  const ref = `refs/foreman/${stopped.runId}/${made.type === 'change-made' ? made.changeId : ''}`;
  const store = await openStore(env.home);
  const bundles = await store.listChangeBundles(stopped.runId);
  await store.close();
  assert.deepEqual(bundles.map((b) => [b.ref, b.sha]), [[ref, gitIn(clone, 'rev-parse', ref).trim()]]);
  // The change only: not the 50 kB the base already holds.
  assert.ok(bundles[0]!.bundle.byteLength < 5_000, `${bundles[0]!.bundle.byteLength} bytes`);

  const done = await resumeRun(stopped.runId, { ...env, signal: undefined, listener: () => {} });
  assert.equal(done.status, 'completed', done.error ?? '');
  const after = await openStore(env.home);
  assert.deepEqual(await after.listChangeBundles(stopped.runId), [], 'proposed and completed: its branch holds it now');
  await after.close();
});

/** The real store of `home`, noting each read of bundle bytes: which refs, and whether all of them at once. */
async function bundleReadsOf(home: string): Promise<{ store: Store; reads: string[] }> {
  const real = await openStore(home);
  const reads: string[] = [];
  const store = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name === 'listChangeBundles') return (runId: string) => (reads.push('every bundle'), real.listChangeBundles(runId));
      if (name === 'getChangeBundle') return (runId: string, ref: string) => (reads.push(ref), real.getChangeBundle(runId, ref));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, reads };
}

test("a resume reads a change bundle's bytes only for a ref its clone lacks, one at a time: none in the clone that made them", async () => {
  const remote = partialRemote();
  const clone = partialClone(remote);
  const events: RunEvent[] = [];
  const env = stoppedAt('gate-finished', events);
  const stopped = await startRun({ ref: 'fixit', script: { source: SCRIPT, file: 'fixit.js' }, args: null, repoDir: clone, base: 'HEAD' }, env);
  assert.equal(stopped.status, 'stopped', stopped.error ?? '');
  const kept = gitIn(clone, 'for-each-ref', '--format=%(refname)', `refs/foreman/${stopped.runId}/`).split('\n').filter(Boolean);
  assert.ok(kept.length >= 1, 'the run kept a change');

  // Another clone lacks every ref: each bundle is read, by itself.
  const other = partialClone(remote);
  const elsewhere = await bundleReadsOf(env.home);
  assert.equal(await restoreRunChanges(elsewhere.store, { id: stopped.runId, repoDir: other }), kept.length);
  await elsewhere.store.close();
  assert.deepEqual(elsewhere.reads, kept);

  // The clone that made them has them all: the resume reads no bundle, and completes.
  const here = await bundleReadsOf(env.home);
  const done = await resumeRun(stopped.runId, { ...env, store: here.store, signal: undefined, listener: () => {} });
  await here.store.close();
  assert.equal(done.status, 'completed', done.error ?? '');
  assert.deepEqual(here.reads, []);
});

test('in a partial clone a change is bundled and restored without fetching a missing file; a bundle of another run, or of another commit, is refused', async () => {
  const remote = partialRemote();
  const clone = partialClone(remote);
  const base = gitIn(clone, 'rev-parse', 'HEAD').trim();
  // A change to a file whose base version this clone never fetched: a thin pack would want it.
  const newBlob = execGit(clone, ['hash-object', '-w', '--stdin'], `${'x'.repeat(50_000)}y\n`);
  const notes = execGit(clone, ['mktree', '--missing'], `100644 blob ${newBlob}\tbig.txt\n`);
  const rootTree = gitIn(clone, 'ls-tree', base).replace(/^(040000 tree )[0-9a-f]+(\tnotes)$/m, `$1${notes}$2`);
  const tree = execGit(clone, ['mktree', '--missing'], rootTree);
  const commit = gitIn(clone, 'commit-tree', tree, '-p', base, '-m', 'change').trim();
  const ref = 'refs/foreman/r1/c1';
  gitIn(clone, 'update-ref', ref, commit);
  // Nowhere to fetch from: any attempt would fail the call.
  gitIn(clone, 'remote', 'set-url', 'origin', '/nonexistent/remote');
  const missing = missingObjects(clone);
  assert.ok(missing > 0);

  const bundle = await bundleChange(clone, base, ref, commit);
  assert.equal(missingObjects(clone), missing, 'nothing was fetched');
  await assert.rejects(bundleChange(clone, base, ref, commit, 100), /refs\/foreman\/r1\/c1 make a \d+ bytes git bundle, over the 100 bytes cap.*\.gitignore/);

  const other = partialClone(remote);
  gitIn(other, 'remote', 'set-url', 'origin', '/nonexistent/remote');
  const otherMissing = missingObjects(other);
  assert.equal(await restoreChange(other, 'r1', bundle), 'restored');
  assert.equal(gitIn(other, 'rev-parse', ref).trim(), commit);
  assert.equal(missingObjects(other), otherMissing, 'nothing was fetched');
  assert.equal(gitIn(other, 'cat-file', 'blob', `${commit}:notes/big.txt`).length, 50_002);
  assert.equal(await restoreChange(other, 'r1', bundle), 'present');

  // The ref moved elsewhere in this clone (a stale cache): the store's commit wins.
  gitIn(other, 'update-ref', ref, base);
  assert.equal(await restoreChange(other, 'r1', bundle), 'restored');
  assert.equal(gitIn(other, 'rev-parse', ref).trim(), commit);

  await assert.rejects(restoreChange(other, 'r2', bundle), /refs\/foreman\/r1\/c1, which is not a change ref of run r2/);
  await assert.rejects(restoreChange(other, 'r1', { ...bundle, ref: 'refs/heads/main' }), /not a change ref of run r1/);
  await assert.rejects(restoreChange(other, 'r1', { ...bundle, ref: 'refs/foreman/r1/c2' }), /does not hold .* under that ref.*damaged/);
  await assert.rejects(restoreChange(other, 'r1', { ...bundle, sha: base, ref }), /does not hold .* under that ref/);
});

/** git with `input` on stdin; its output trimmed. */
function execGit(repo: string, args: string[], input: string): string {
  return execFileSync('git', args, { cwd: repo, input, encoding: 'utf8' }).trim();
}
