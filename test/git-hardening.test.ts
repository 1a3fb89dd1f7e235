// Foreman's own git commands against a hostile repository: config, hooks and .gitattributes that
// name programs (as a gate step or a crafted repository could leave them) run nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeWorktrees } from '../src/workspace/changes.ts';
import { changesSince, createRunCheckout, removeRunWorktrees } from '../src/workspace/checkout.ts';
import { createProposalCommit } from '../src/workspace/proposal-commit.ts';
import { BranchProposer } from '../src/workspace/branch-proposer.ts';
import { executeTool } from '../src/agents/tools.ts';
import { git, useHostEnvironment } from '../src/workspace/git.ts';
import { gitIn, makeRepo, tempDir } from './support/repo.ts';
import { asksForVerdict, startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { runCli } from './support/cli.ts';

const HOOKS = ['reference-transaction', 'post-checkout', 'post-index-change', 'pre-commit', 'post-commit', 'pre-push', 'fsmonitor-watchman'];

/**
 * Makes `repo` hostile: an in-tree .gitattributes naming a filter and a diff driver whose
 * programs, like every hook, append their name to the returned marker file.
 */
function plantHostileRepository(repo: string): string {
  const dir = tempDir('foreman-hostile-');
  const marker = join(dir, 'ran');
  const program = join(dir, 'evil.sh');
  // Passes content through where git expects a filter's output; fails anything else fast.
  writeFileSync(program, `#!/bin/sh\necho "$(basename "$0") $*" >> ${marker}\ncase "$1" in clean|smudge) exec cat ;; textconv) exec cat "$2" ;; esac\nexit 1\n`);
  chmodSync(program, 0o755);
  const commonDir = join(repo, gitIn(repo, 'rev-parse', '--git-common-dir').trim());
  const hookDirs = [join(commonDir, 'hooks'), join(dir, 'hooks')];
  for (const hooks of hookDirs) {
    mkdirSync(hooks, { recursive: true });
    for (const hook of HOOKS) {
      writeFileSync(join(hooks, hook), `#!/bin/sh\necho "${hook}" >> ${marker}\n`);
      chmodSync(join(hooks, hook), 0o755);
    }
  }
  const config: Array<[string, string]> = [
    ['filter.evil.clean', `${program} clean`],
    ['filter.evil.smudge', `${program} smudge`],
    ['filter.evil.required', 'true'],
    ['filter.Evil.Sub.process', `${program} process`],
    ['diff.evil.textconv', `${program} textconv`],
    ['diff.evil.command', `${program} diff-command`],
    ['diff.external', `${program} diff-external`],
    ['core.hooksPath', join(dir, 'hooks')],
    ['core.fsmonitor', join(dir, 'hooks', 'fsmonitor-watchman')],
    ['core.sshCommand', `${program} ssh`],
    ['credential.helper', `!${program} credential`],
    ['commit.gpgSign', 'true'],
    ['gpg.program', `${program} gpg`],
    ['remote.origin.url', dir],
    ['remote.origin.uploadpack', `${program} upload-pack`],
  ];
  for (const [key, value] of config) gitIn(repo, 'config', key, value);
  // Config pulled in through includeIf counts as the repository's own.
  const included = join(dir, 'included.config');
  writeFileSync(included, `[filter "inc"]\n\tclean = ${program} clean-included\n\tsmudge = ${program} smudge-included\n[core]\n\thooksPath = ${join(dir, 'hooks')}\n`);
  gitIn(repo, 'config', 'includeIf.gitdir:/.path', included);
  writeFileSync(join(repo, '.git', 'info', 'attributes'), '* filter=evil diff=evil\n*.js filter=inc\n');
  return marker;
}

const ran = (marker: string): string => (existsSync(marker) ? readFileSync(marker, 'utf8') : '');

test("Foreman's worktree add, add, commit, diff, update-ref, search and fetch run no hook, filter or driver the repository names", { timeout: 30_000 }, async () => {
  const repo = makeRepo({ '.gitattributes': '* filter=evil diff=evil\n*.txt filter=Evil.Sub\n', 'a.js': 'one\n', 'b.txt': 'two\n' });
  const marker = plantHostileRepository(repo);
  // The planted config is live for plain git: the test would prove nothing otherwise.
  gitIn(repo, 'diff', 'HEAD', '--', 'a.js');
  assert.notEqual(ran(marker), '', 'the hostile repository runs its programs under plain git');
  writeFileSync(marker, '');

  const home = tempDir();
  const base = gitIn(repo, 'rev-parse', 'HEAD').trim();
  const changes = new ChangeWorktrees({ repo, home, runId: 'run-1', baseSha: base });
  const dir = await changes.open('c1');
  assert.equal(readFileSync(join(dir, 'a.js'), 'utf8'), 'one\n');
  writeFileSync(join(dir, 'a.js'), 'one\ntwo\n');
  writeFileSync(join(dir, 'b.txt'), 'changed\n');
  const snapshot = await changes.snapshot('c1', 'change');
  assert.ok(snapshot);
  assert.match(snapshot.diff, /\+two/);
  assert.equal(gitIn(repo, 'show', `${snapshot.commit}:a.js`), 'one\ntwo\n', 'no clean filter rewrote the content');
  await changes.checkout('c1');
  await createProposalCommit(repo, snapshot.commit, base, 'proposal');
  const proposed = await new BranchProposer(repo).propose({ runId: 'run-1', changeId: 'c1', branch: 'foreman/hardening', commitSha: snapshot.commit, baseSha: base, message: 'proposal', title: 't', body: '', draft: false });
  assert.equal(proposed.created, true);
  await changesSince(repo, base, snapshot.commit);
  await executeTool('search', { pattern: 'two' }, { root: dir });
  await git(repo, ['log', '-p', '-1', snapshot.commit]);
  await git(repo, ['show', snapshot.commit]);
  // A fetch from `origin` would run the planted upload-pack program.
  await git(repo, ['fetch', '--quiet', 'origin']).catch(() => undefined);
  await changes.discard('c1');
  const pristine = await createRunCheckout(repo, base, home, 'run-2');
  await removeRunWorktrees(repo, home, 'run-2');
  assert.ok(pristine);

  assert.equal(ran(marker), '', 'nothing the repository named ran');
});

test('argv stays free of the hardening, and a value passed as config never shows in argv', async () => {
  const repo = makeRepo({ 'a.txt': 'x\n' });
  const error = await git(repo, ['rev-parse', '--verify', 'no-such-ref'], { config: [['http.extraheader', 'AUTHORIZATION: basic secret-value']] }).catch((e: Error) => e);
  assert.ok(error instanceof Error);
  assert.doesNotMatch(error.message, /secret-value|hooksPath/);
  assert.match(error.message, /^git rev-parse --verify no-such-ref failed/);
});

test('a gate step that plants hooks, core.hooksPath and a filter in the shared git directory runs nothing in the later git commands of `foreman run`', { timeout: 60_000 }, async () => {
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (asksForVerdict(req)) return [toolUse('submit_result', { verdict: 'accept', reason: 'fine' })];
      const n = /MARK-(\d)/.exec(req.prompt)?.[1] ?? '0';
      if (req.turn === 0) return [toolUse('edit_file', { path: 'src/math.js', old_string: 'export function add', new_string: `// note ${n}\nexport function add` })];
      return [text('done')];
    },
  });
  try {
    const outside = tempDir('foreman-hostile-');
    const marker = join(outside, 'ran');
    // What a prompt-injected change to a test script could do: it runs in the gate, in a
    // worktree whose git directory is shared with the user's repository.
    const plant = `import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
const marker = ${JSON.stringify(marker)}
try {
  const common = resolve(execFileSync('git', ['rev-parse', '--git-common-dir'], { encoding: 'utf8' }).trim())
  const evil = join(${JSON.stringify(outside)}, 'hooks')
  for (const dir of [join(common, 'hooks'), evil]) {
    mkdirSync(dir, { recursive: true })
    for (const hook of ${JSON.stringify(HOOKS)}) {
      writeFileSync(join(dir, hook), '#!/bin/sh\\necho ' + hook + ' >> ' + marker + '\\n')
      chmodSync(join(dir, hook), 0o755)
    }
  }
  const program = join(${JSON.stringify(outside)}, 'filter.sh')
  writeFileSync(program, '#!/bin/sh\\necho filter-$1 >> ' + marker + '\\nexec cat\\n')
  chmodSync(program, 0o755)
  const set = (key, value) => execFileSync('git', ['config', '--file', join(common, 'config'), key, value])
  set('core.hooksPath', evil)
  set('filter.evil.clean', program + ' clean')
  set('filter.evil.smudge', program + ' smudge')
  set('filter.evil.required', 'true')
} catch (error) {
  // Inside Foreman's sandbox the shared git directory is read-only: the run goes on.
  console.log('could not plant: ' + error.message)
}
`;
    const repo = makeRepo({
      'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', scripts: { test: 'node plant.mjs' } }),
      'plant.mjs': plant,
      'src/math.js': 'export function add(a, b) {\n  return a + b\n}\n',
      '.gitattributes': '*.js filter=evil diff=evil\n',
      '.claude/workflows/fixit.js': `export const meta = { name: 'fixit', description: 'two fixes' }\nawait fix('MARK-1: first', { label: 'first' })\nreturn await fix('MARK-2: second', { label: 'second' })\n`,
    });
    const home = tempDir();
    const commonConfig = join(repo, '.git', 'config');
    const configBefore = readFileSync(commonConfig, 'utf8');
    const hooksBefore = readdirSync(join(repo, '.git', 'hooks')).sort();
    const result = await runCli(['run', 'fixit', '--repo', repo, '--json'], { home, baseURL: fake.url });
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.equal(json.result.status, 'proposed', result.stdout);
    assert.equal(json.changes.length, 2);
    assert.equal(ran(marker), '', 'nothing the gate planted ran in Foreman\'s git commands');
    // Foreman left its proposals, and nothing of its own in the hooks or config.
    assert.match(gitIn(repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/foreman/'), /first[\s\S]*second|second[\s\S]*first/);
    // Take away what the gate planted (where it could): what is left is what Foreman added, nothing.
    for (const [key, how] of [['core.hooksPath', '--unset'], ['filter.evil', '--remove-section']]) {
      try {
        gitIn(repo, 'config', '--file', commonConfig, how, key);
      } catch {
        // Not planted (the sandbox kept the shared git directory read-only).
      }
    }
    for (const hook of HOOKS) rmSync(join(repo, '.git', 'hooks', hook), { force: true });
    assert.equal(readFileSync(commonConfig, 'utf8'), configBefore, "Foreman wrote nothing into the repository's config");
    assert.deepEqual(readdirSync(join(repo, '.git', 'hooks')).sort(), hooksBefore);
  } finally {
    await fake.close();
  }
});

test('a filter configured after Foreman read the config is still turned off: what it remembers of a repository lasts only while its config files are unchanged', async () => {
  const repo = makeRepo({ 'a.txt': 'one\n' });
  const marker = join(tempDir(), 'filter-ran');
  await git(repo, ['status', '--porcelain']);
  await git(repo, ['status', '--porcelain']);
  // As a step run without the sandbox could do, between two of Foreman's git commands.
  gitIn(repo, 'config', 'filter.evil.clean', `sh -c 'touch ${marker}; cat'`);
  writeFileSync(join(repo, '.gitattributes'), '*.txt filter=evil\n');
  writeFileSync(join(repo, 'a.txt'), 'two\n');
  await git(repo, ['add', '--all']);
  assert.equal(existsSync(marker), false, 'the filter did not run');
});

test('one git runner for every call: its exit code and an overflow come back in the answer, hardened alike', async () => {
  const { runGit } = await import('../src/workspace/git.ts');
  const repo = makeRepo({ 'a.txt': 'one\n'.repeat(2_000) });
  const missing = await runGit(repo, ['rev-parse', '--verify', 'no-such-ref']);
  assert.equal(missing.exitCode, 128);
  assert.match(missing.stderr, /no-such-ref|Needed a single revision/);
  const big = await runGit(repo, ['show', 'HEAD:a.txt'], { maxBuffer: 100 });
  assert.deepEqual([big.overflowed, big.stdout.length <= 100], [true, true]);
  // The repository's own config names no program git runs here, as for git().
  const hooks = await runGit(repo, ['config', 'core.hooksPath']);
  assert.equal(hooks.stdout.trim(), '/dev/null');
  await assert.rejects(git(repo, ['rev-parse', '--verify', 'no-such-ref']), /git rev-parse --verify no-such-ref failed: .*/);
});

/** The environment `foreman` gives its git processes, as a `git` first on PATH sees it. */
function gitSpy(): { dir: string; seen: () => string[] } {
  const dir = tempDir('foreman-git-spy-');
  const log = join(dir, 'env.log');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'git'), `#!/bin/sh\nenv -0 >> ${log}\nprintf '\\001' >> ${log}\nexec ${realGit} "$@"\n`);
  chmodSync(join(dir, 'git'), 0o755);
  return { dir, seen: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\u0001').filter((e) => e !== '') : []) };
}

test("git starts from the environment the door hands down, without Foreman's secrets: PATH, HOME, proxies and CA settings stay", { timeout: 30_000 }, async () => {
  const spy = gitSpy();
  const repo = makeRepo({ '.claude/workflows/noop.js': "export const meta = { name: 'noop', description: 'nothing' }\nreturn 'ok'\n" });
  const home = tempDir();
  const secret = 'sk-ant-not-for-git-0123456789';
  const extra = {
    PATH: `${spy.dir}:${process.env.PATH}`,
    PRIVATE_KEY: '-----BEGIN KEY----- not for git',
    GITHUB_TOKEN: 'ghs_not_for_git_0123456789',
    // A credential URL (DATABASE_URL itself now selects the run store).
    CACHE_URL: 'redis://user:pw-not-for-git@cache.invalid/0',
    HTTPS_PROXY: 'http://proxy-user:proxy-pw@127.0.0.1:9',
    NO_PROXY: '*',
    SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt',
    GIT_DIR: '/nonexistent',
    GIT_TRACE: '0',
  };
  const result = await runCli(['run', 'noop', '--repo', repo, '--json'], { home, apiKey: secret, extra });
  assert.equal(result.code, 0, result.stderr);
  const seen = spy.seen();
  assert.ok(seen.length > 0, 'the run started git');
  for (const env of seen) {
    const vars = new Map(env.split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    for (const name of ['ANTHROPIC_API_KEY', 'PRIVATE_KEY', 'GITHUB_TOKEN', 'CACHE_URL', 'GIT_DIR']) assert.equal(vars.get(name), undefined, `${name} reached git`);
    assert.doesNotMatch(env, /not-for-git|not_for_git|not for git/);
    assert.equal(vars.get('PATH'), extra.PATH);
    assert.equal(vars.get('HOME'), home);
    assert.equal(vars.get('HTTPS_PROXY'), extra.HTTPS_PROXY);
    assert.equal(vars.get('SSL_CERT_FILE'), extra.SSL_CERT_FILE);
    assert.equal(vars.get('GIT_TRACE'), '0');
  }
});

test('below the doors git reads no process.env: it starts from what useHostEnvironment was handed, and from nothing before that', async () => {
  const repo = makeRepo({ 'a.txt': 'x\n' });
  const showEnv = { config: [['alias.show-env', '!env']] as Array<[string, string]> };
  process.env.FOREMAN_GIT_PROBE = 'from process.env';
  try {
    assert.doesNotMatch(await git(repo, ['show-env'], showEnv), /FOREMAN_GIT_PROBE/);
    useHostEnvironment({ PATH: process.env.PATH, FOREMAN_GIT_PROBE: 'handed down', ANTHROPIC_API_KEY: 'sk-ant-not-for-git-0123456789' });
    const seen = await git(repo, ['show-env'], showEnv);
    assert.match(seen, /^FOREMAN_GIT_PROBE=handed down$/m);
    assert.doesNotMatch(seen, /ANTHROPIC_API_KEY|not-for-git/);
  } finally {
    delete process.env.FOREMAN_GIT_PROBE;
    useHostEnvironment({});
  }
});
