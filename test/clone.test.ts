// Partial clones of the repositories the App works on, from a local `git http-backend`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CloneError, extractWorkflows, hydrateCommits, syncClone } from '../src/github/clone.ts';
import { startGitHttp, type GitHttpServer } from './support/git-http.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';

const TOKEN = 'ghs_cl0neT0kenNeverInAUrl';
const root = tempDir('foreman-git-root-');
const bare = join(root, 'acme', 'widgets.git');
const source = makeRepo({ 'README.md': 'widgets\n', 'src/a.js': 'export const a = 1\n' });
let server: GitHttpServer;

before(async () => {
  execFileSync('git', ['init', '-q', '--bare', bare]);
  execFileSync('git', ['--git-dir', bare, 'config', 'uploadpack.allowFilter', 'true']);
  execFileSync('git', ['--git-dir', bare, 'config', 'http.receivepack', 'true']);
  gitIn(source, 'push', '-q', bare, 'HEAD:refs/heads/main', 'HEAD:refs/pull/7/head');
  server = await startGitHttp(root, TOKEN);
});
after(() => server.close());

const request = (cacheDir: string, token = TOKEN) => ({ cacheDir, owner: 'acme', repo: 'widgets', cloneUrl: `${server.url}/acme/widgets.git`, token, refs: ['refs/pull/7/head'] });
const git = (dir: string, ...args: string[]) => execFileSync('git', ['--git-dir', dir, ...args], { encoding: 'utf8' }).trim();

test('a partial clone with the branches and the pull request ref, the token only ever in a header', async () => {
  const cache = tempDir();
  const dir = await syncClone(request(cache));
  const head = gitIn(source, 'rev-parse', 'HEAD').trim();
  assert.equal(git(dir, 'rev-parse', 'refs/remotes/origin/main'), head);
  assert.equal(git(dir, 'rev-parse', 'refs/pull/7/head'), head);
  assert.equal(git(dir, 'config', 'remote.origin.promisor'), 'true', 'a partial clone: blobs come when needed');
  assert.equal(git(dir, 'config', 'remote.origin.partialclonefilter'), 'blob:none');
  assert.ok(!git(dir, 'config', '--list').includes(TOKEN), 'the token is not in the clone config');
  assert.ok(server.requests.length > 0);
  for (const req of server.requests) assert.ok(!req.url.includes(TOKEN) && !req.url.includes('x-access-token'), req.url);
  assert.deepEqual(readdirSync(join(cache, `127.0.0.1_${new URL(server.url).port}`, 'acme')), ['widgets.git']);
});

test('a second sync fetches what is new into the same clone', async () => {
  const cache = tempDir();
  const dir = await syncClone(request(cache));
  writeFiles(source, { 'src/b.js': 'export const b = 2\n' });
  gitIn(source, 'add', '-A');
  gitIn(source, 'commit', '-qm', 'b');
  gitIn(source, 'push', '-q', bare, 'HEAD:refs/heads/main');
  const again = await syncClone(request(cache));
  assert.equal(again, dir);
  assert.equal(git(dir, 'rev-parse', 'refs/remotes/origin/main'), gitIn(source, 'rev-parse', 'HEAD').trim());
});

test('concurrent syncs of one repository share the work and agree', async () => {
  const cache = tempDir();
  const dirs = await Promise.all([syncClone(request(cache)), syncClone(request(cache)), syncClone(request(cache))]);
  assert.equal(new Set(dirs).size, 1);
  assert.equal(git(dirs[0], 'rev-parse', 'refs/remotes/origin/main'), gitIn(source, 'rev-parse', 'HEAD').trim());
});

test('a refused token is a clear error without the token, and leaves no half clone', async () => {
  const cache = tempDir();
  const error = await syncClone(request(cache, 'ghs_wrongWrongWrong')).catch((e: Error) => e);
  assert.ok(error instanceof CloneError);
  assert.match(error.message, /clone of acme\/widgets failed: .*check that the App is installed on the repository/s);
  assert.ok(!error.message.includes('ghs_wrongWrongWrong'));
  const parent = join(cache, `127.0.0.1_${new URL(server.url).port}`, 'acme');
  assert.deepEqual(existsSync(parent) ? readdirSync(parent) : [], []);
});

test('owner and repository names that could climb out of the cache are refused', async () => {
  for (const [owner, repo] of [['..', 'x'], ['acme', '../../etc'], ['.git', 'x'], ['acme', 'a/b']]) {
    await assert.rejects(syncClone({ ...request(tempDir()), owner, repo }), CloneError);
  }
});

test('hydrating a commit downloads its files in one fetch, none of its history, and the saved workflows can be read', async () => {
  // History: the first commit's files are replaced; only the newest commit's are needed.
  const work = makeRepo({ 'old.txt': 'old\n'.repeat(100) });
  gitIn(work, 'rm', '-q', 'old.txt');
  writeFiles(work, { 'new.txt': 'new\n', '.claude/workflows/w.js': 'export const meta = { name: "w", description: "d" }\nreturn 1\n', '.claude/workflows/notes.md': 'x' });
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '-m', 'second');
  const served = join(root, 'acme', 'history.git');
  execFileSync('git', ['init', '-q', '--bare', served]);
  execFileSync('git', ['--git-dir', served, 'config', 'uploadpack.allowFilter', 'true']);
  execFileSync('git', ['--git-dir', served, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
  gitIn(work, 'push', '-q', served, 'HEAD:refs/heads/main');
  const head = gitIn(work, 'rev-parse', 'HEAD').trim();
  const cloneUrl = `${server.url}/acme/history.git`;
  const dir = await syncClone({ cacheDir: tempDir(), owner: 'acme', repo: 'history', cloneUrl, token: TOKEN });
  const missing = () => git(dir, 'rev-list', '--objects', '--all', '--missing=print').split('\n').filter((l) => l.startsWith('?')).length;
  assert.equal(missing(), 4, 'no file contents yet: old.txt, new.txt and the two under .claude/workflows');
  assert.equal(await hydrateCommits(dir, [head], { cloneUrl, token: TOKEN }), 3);
  assert.equal(missing(), 1, 'only the old commit\'s file is still missing');
  assert.equal(await hydrateCommits(dir, [head], { cloneUrl, token: TOKEN }), 0, 'a second hydration fetches nothing');
  const out = await extractWorkflows(dir, head, tempDir());
  assert.deepEqual(readdirSync(join(out, '.claude', 'workflows')), ['w.js']);
  // A worker's runs on one commit extract at once: none may see the directory another is replacing.
  const shared = tempDir();
  const seen = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      // Staggered, as runs claimed a moment apart are: one's removal lands in another's writing.
      await new Promise((r) => setTimeout(r, i * 3));
      return readdirSync(join(await extractWorkflows(dir, head, shared), '.claude', 'workflows'));
    }),
  );
  assert.deepEqual(seen, Array.from({ length: 40 }, () => ['w.js']));
  assert.deepEqual(readdirSync(join(shared, '.claude')), ['workflows'], 'no staging directory left behind');
});
