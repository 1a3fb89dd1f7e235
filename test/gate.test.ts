import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { createGateRunner, GateConfigError, GateSlots, planGate, processGateSlots, sharedDepsDir, type GatePlan } from '../src/workspace/gate.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';

const env = process.env;

const LOCK_NO_DEPS = (name: string) =>
  JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0' } } }, null, 2) + '\n';

/** A Node project with no dependencies whose `npm test` runs node's test runner on test/. */
function nodeProject(testBody: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', scripts: { test: 'node --test' } }, null, 2) + '\n',
    'package-lock.json': LOCK_NO_DEPS('fixture'),
    'test/sum.test.js': `const test = require('node:test');\nconst assert = require('node:assert');\ntest('sum', () => { ${testBody} });\n`,
  };
}

function worktree(repo: string, home: string, name: string): string {
  const dir = join(home, 'worktrees', 'run-1', name);
  gitIn(repo, 'worktree', 'add', '--detach', '--quiet', dir, 'HEAD');
  return dir;
}

// ---- running -------------------------------------------------------------------------------

test('a Node project with passing tests passes: npm ci (offline, no dependencies) then npm test', async () => {
  const repo = makeRepo(nodeProject('assert.equal(1 + 1, 2)'));
  const plan = await planGate(repo, undefined);
  assert.deepEqual(plan, { setup: 'npm ci', test: 'npm test', source: 'detected', ecosystem: 'npm' });
  const result = await createGateRunner({ home: tempDir(), env }).run(repo, plan);
  assert.equal(result.passed, true, JSON.stringify(result, null, 2));
  assert.deepEqual(result.steps.map((s) => [s.name, s.command, s.exitCode]), [['setup', 'npm ci', 0], ['test', 'npm test', 0]]);
  assert.match(result.steps[1].output, /pass 1/);
});

test('a failing test fails the gate with the failing output in the tail', async () => {
  const repo = makeRepo(nodeProject(`assert.equal(1 + 1, 3, 'MARKER-sum-is-wrong')`));
  const result = await createGateRunner({ home: tempDir(), env }).run(repo, await planGate(repo, undefined));
  assert.equal(result.passed, false);
  const last = result.steps.at(-1)!;
  assert.equal(last.name, 'test');
  assert.notEqual(last.exitCode, 0);
  assert.match(last.output, /MARKER-sum-is-wrong/);
});

test('steps stop at the first failure; a step past its timeout is killed and fails', async () => {
  const repo = makeRepo(nodeProject('assert.ok(true)'));
  const runner = createGateRunner({ home: tempDir(), env, timeoutMs: 1000 });
  const failingSetup = await runner.run(repo, { setup: 'node -e "process.exit(4)"', test: 'npm test', source: 'config', ecosystem: 'npm' });
  assert.equal(failingSetup.passed, false);
  assert.deepEqual(failingSetup.steps.map((s) => [s.name, s.exitCode]), [['setup', 4]]);

  const started = Date.now();
  const slow = await runner.run(repo, { build: 'node -e "setTimeout(() => {}, 60000)"', test: 'npm test', source: 'config', ecosystem: 'npm' });
  assert.ok(Date.now() - started < 15_000);
  assert.equal(slow.passed, false);
  assert.deepEqual(slow.steps.map((s) => [s.name, s.exitCode]), [['build', null]]);
  assert.match(slow.steps[0].output, /timed out after 1000 ms/);
});

test('a gate command that does not parse is a failed step naming the config key and the fix', async () => {
  const repo = makeRepo(nodeProject('assert.ok(true)'));
  const result = await createGateRunner({ home: tempDir(), env }).run(repo, { test: 'npm test | tee out.txt', source: 'config', ecosystem: 'npm' });
  assert.equal(result.passed, false);
  assert.equal(result.steps.length, 1);
  assert.equal(result.steps[0].exitCode, 2);
  assert.match(result.steps[0].output, /gate\.test in \.github\/foreman\.yml cannot run: .*'\|' is a shell operator.*Fix gate\.test/);
  assert.equal(existsSync(join(repo, 'out.txt')), false);
});

test('gate commands do not see secrets from the environment', async () => {
  const repo = makeRepo({ 'check.js': 'process.exit(process.env.GITHUB_TOKEN || process.env.ANTHROPIC_API_KEY ? 1 : 0)\n' });
  const runner = createGateRunner({ home: tempDir(), env: { ...process.env, GITHUB_TOKEN: 'ghs_x', ANTHROPIC_API_KEY: 'sk-x' } });
  const result = await runner.run(repo, { test: 'node check.js', source: 'config', ecosystem: null });
  assert.equal(result.passed, true, result.steps[0]?.output);
});

test('gate commands do not see credentials inside values: URLs with userinfo, proxies, copies of held secrets', async () => {
  const repo = makeRepo({ 'print.js': 'console.log(JSON.stringify(process.env))\n' });
  const leaky = {
    DATABASE_URL: 'postgres://app:pa55word@db.internal:5432/app',
    REDIS_URL: 'redis://:redispass@cache:6379/0',
    HTTPS_PROXY: 'http://proxyuser:proxypass@proxy:3128',
    REGISTRY: 'https://npmtoken123@registry.example.com/',
    SOME_SETTING: 'key=sk-ant-HELD-API-KEY-0001',
    INSTALLATION_COPY: 'ghs_HELD_INSTALLATION_TOKEN',
  };
  const kept = { PLAIN_URL: 'https://example.com/path?q=1', SHORT: 'abc', GIT_REMOTE: 'git@github.com:o/r.git' };
  const runner = createGateRunner({
    home: tempDir(),
    env: { ...process.env, ...leaky, ...kept, ANTHROPIC_API_KEY: 'sk-ant-HELD-API-KEY-0001' },
    secrets: ['ghs_HELD_INSTALLATION_TOKEN', 'abc'],
  });
  const result = await runner.run(repo, { test: 'node print.js', source: 'config', ecosystem: null });
  assert.equal(result.passed, true, result.steps[0]?.output);
  const seen = JSON.parse(result.steps[0].output.trim()) as Record<string, string>;
  for (const name of Object.keys(leaky)) assert.equal(seen[name], undefined, `${name} should be removed`);
  for (const [name, value] of Object.entries(kept)) assert.equal(seen[name], value, `${name} should be kept (a held secret shorter than 8 characters matches nothing)`);
  assert.doesNotMatch(result.steps[0].output, /pa55word|redispass|proxypass|npmtoken123|HELD/);
});

test('an aborted gate stops and does not pass', async () => {
  const repo = makeRepo(nodeProject('assert.ok(true)'));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const result = await createGateRunner({ home: tempDir(), env }).run(repo, { setup: 'node -e "setTimeout(() => {}, 60000)"', test: 'npm test', source: 'config', ecosystem: null }, controller.signal);
  assert.equal(result.passed, false);
  assert.deepEqual(result.steps.map((s) => s.name), ['setup']);
});

// ---- how many gates at once ----------------------------------------------------------------

/**
 * A repository whose test step is a real program: it appends `start <id> <ms>` to a log outside
 * the worktree, sleeps 300 ms, then appends `end <id> <ms>`.
 */
function stampingRepo(): { repo: string; log: string; plan: (id: string) => GatePlan } {
  const repo = makeRepo({
    'stamp.cjs': [
      "const { appendFileSync } = require('node:fs');",
      'const [log, id] = process.argv.slice(2);',
      'appendFileSync(log, `start ${id} ${Date.now()}\\n`);',
      'setTimeout(() => appendFileSync(log, `end ${id} ${Date.now()}\\n`), 300);',
      '',
    ].join('\n'),
  });
  // Inside the worktree: the sandbox lets a gate write nowhere else.
  const log = join(repo, 'stamps.log');
  return { repo, log, plan: (id) => ({ test: `node stamp.cjs ${log} ${id}`, source: 'config', ecosystem: null }) };
}

/** The ids that started and ended, and the most gates whose programs ran at the same moment. */
function readStamps(log: string): { started: string[]; ended: string[]; maxOverlap: number } {
  const events = readFileSync(log, 'utf8').trim().split('\n').map((line) => {
    const [kind, id, at] = line.split(' ');
    return { kind, id, at: Number(at) };
  });
  // At the same millisecond an end counts first: the slot is released before the next gate spawns.
  events.sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1));
  let running = 0;
  let maxOverlap = 0;
  for (const event of events) {
    running += event.kind === 'start' ? 1 : -1;
    maxOverlap = Math.max(maxOverlap, running);
  }
  const ids = (kind: string): string[] => events.filter((e) => e.kind === kind).map((e) => e.id).sort();
  return { started: ids('start'), ended: ids('end'), maxOverlap };
}

test('gate.concurrency 2: four gates run two at a time, and all four run', async () => {
  const { repo, log, plan } = stampingRepo();
  // Shared slots larger than the cap, so that the run's own cap is what is measured.
  const runner = createGateRunner({ home: tempDir(), env, concurrency: 2, slots: new GateSlots(8) });
  const results = await Promise.all(['g1', 'g2', 'g3', 'g4'].map((id) => runner.run(repo, plan(id))));
  assert.ok(results.every((r) => r.passed), JSON.stringify(results, null, 2));
  const stamps = readStamps(log);
  assert.deepEqual(stamps.started, ['g1', 'g2', 'g3', 'g4']);
  assert.deepEqual(stamps.ended, ['g1', 'g2', 'g3', 'g4']);
  assert.ok(stamps.maxOverlap <= 2, `at most 2 gates at once, saw ${stamps.maxOverlap}`);
  assert.equal(stamps.maxOverlap, 2, 'two gates did run at once: the cap limits, it does not serialise');
});

test('two runs in one process share the gate slots: two runners with 2 gates each, 2 slots, 2 at once', async () => {
  const { repo, log, plan } = stampingRepo();
  const slots = new GateSlots(2);
  // Each run allows 4 at once on its own; only the shared slots keep the process at 2.
  const runA = createGateRunner({ home: tempDir(), env, concurrency: 4, slots });
  const runB = createGateRunner({ home: tempDir(), env, concurrency: 4, slots });
  const results = await Promise.all([runA.run(repo, plan('a1')), runB.run(repo, plan('b1')), runA.run(repo, plan('a2')), runB.run(repo, plan('b2'))]);
  assert.ok(results.every((r) => r.passed), JSON.stringify(results, null, 2));
  const stamps = readStamps(log);
  assert.deepEqual(stamps.ended, ['a1', 'a2', 'b1', 'b2']);
  assert.ok(stamps.maxOverlap <= 2, `at most 2 gates at once in the process, saw ${stamps.maxOverlap}`);
  assert.equal(slots.active, 0);
  assert.equal(slots.waiting, 0);
});

test('by default every runner takes its slots from the one process-wide pool, one slot per core', async () => {
  const pool = processGateSlots();
  assert.equal(processGateSlots(), pool);
  assert.equal(pool.size, availableParallelism());
  const { repo, plan } = stampingRepo();
  const before = pool.active;
  const runs = [createGateRunner({ home: tempDir(), env }), createGateRunner({ home: tempDir(), env, concurrency: 1 })].map((runner, i) => runner.run(repo, plan(`p${i}`)));
  // Both gates hold (or wait for) the shared pool's slots while they run: once the capped one
  // has passed its own cap (a microtask), both count there.
  await new Promise((done) => setImmediate(done));
  assert.equal(pool.active + pool.waiting - before, 2);
  assert.ok((await Promise.all(runs)).every((r) => r.passed));
  assert.equal(pool.active, before);
});

test('a gate stopped while it waits for a slot ends at once, without running', async () => {
  const { repo, log, plan } = stampingRepo();
  const slots = new GateSlots(1);
  const runner = createGateRunner({ home: tempDir(), env, slots });
  const first = runner.run(repo, plan('first'));
  const controller = new AbortController();
  const waiting = runner.run(repo, plan('stopped'), controller.signal);
  assert.equal(slots.waiting, 1);
  controller.abort();
  assert.deepEqual(await waiting, { passed: false, steps: [] });
  assert.equal(slots.waiting, 0);
  assert.equal((await first).passed, true);
  assert.deepEqual(readStamps(log).started, ['first']);
});

// ---- dependency reuse ----------------------------------------------------------------------

/**
 * A project with one real dependency, vendored as a tarball inside the repository so that
 * `npm ci` installs it offline in every worktree. Its test requires the dependency and prints
 * whether node_modules is a link.
 */
function projectWithDependency(): string {
  const scratch = tempDir();
  writeFiles(join(scratch, 'dep'), { 'package.json': JSON.stringify({ name: 'foreman-fixture-dep', version: '1.0.0', main: 'index.js' }), 'index.js': 'module.exports = 42;\n' });
  execFileSync('npm', ['pack', '--pack-destination', scratch], { cwd: join(scratch, 'dep'), stdio: 'ignore' });
  const repo = makeRepo({
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', scripts: { test: 'node --test' }, dependencies: { 'foreman-fixture-dep': 'file:vendor/foreman-fixture-dep-1.0.0.tgz' } }, null, 2) + '\n',
    '.gitignore': 'node_modules\n',
    'test/dep.test.js': [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const fs = require('node:fs');",
      "test('dep', () => {",
      "  console.log('node_modules is a link: ' + fs.lstatSync('node_modules').isSymbolicLink());",
      "  assert.equal(require('foreman-fixture-dep'), 42);",
      '});',
      '',
    ].join('\n'),
  });
  mkdirSync(join(repo, 'vendor'));
  copyFileSync(join(scratch, 'foreman-fixture-dep-1.0.0.tgz'), join(repo, 'vendor', 'foreman-fixture-dep-1.0.0.tgz'));
  execFileSync('npm', ['install', '--package-lock-only', '--offline', '--no-audit', '--no-fund'], { cwd: repo, stdio: 'ignore' });
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'dependency');
  return repo;
}

test('a second worktree with the same lockfile reuses the first install through a symlink', async () => {
  const repo = projectWithDependency();
  const home = tempDir();
  const runner = createGateRunner({ home, env });
  const first = worktree(repo, home, 'c1');
  const second = worktree(repo, home, 'c2');
  const plan: GatePlan = await planGate(first, undefined);
  assert.equal(plan.setup, 'npm ci');

  const a = await runner.run(first, plan);
  assert.equal(a.passed, true, JSON.stringify(a, null, 2));
  assert.equal(a.steps[0].reused, undefined);
  assert.match(a.steps[0].output, /node_modules moved to .*deps.* and linked here/);
  const shared = readdirSync(sharedDepsDir(home));
  assert.equal(shared.length, 1);
  assert.ok(existsSync(join(sharedDepsDir(home), shared[0], 'node_modules', 'foreman-fixture-dep', 'index.js')));

  const b = await runner.run(second, plan);
  assert.equal(b.passed, true, JSON.stringify(b, null, 2));
  assert.equal(b.steps[0].reused, true);
  assert.match(b.steps[0].output, /node_modules reused from .*nothing was installed/);
  assert.match(b.steps[1].output, /node_modules is a link: true/);

  // The link goes with the gate: nothing left for `git add --all` or a later npm ci to touch.
  assert.equal(existsSync(join(second, 'node_modules')), false);
  assert.equal(gitIn(second, 'status', '--porcelain'), '');
  gitIn(repo, 'worktree', 'remove', '--force', first);
  gitIn(repo, 'worktree', 'remove', '--force', second);
});

test('a changed lockfile or package.json gets its own install; concurrent gates with one key install once', async () => {
  const repo = projectWithDependency();
  const home = tempDir();
  const runner = createGateRunner({ home, env, concurrency: 4 });
  const dirs = ['c1', 'c2', 'c3'].map((name) => worktree(repo, home, name));
  const plan = await planGate(dirs[0], undefined);

  const together = await Promise.all(dirs.map((dir) => runner.run(dir, plan)));
  assert.ok(together.every((r) => r.passed), JSON.stringify(together, null, 2));
  assert.deepEqual(together.map((r) => r.steps[0].reused === true).sort(), [false, true, true], 'one install, two reuses');

  const lockChanged = worktree(repo, home, 'c4');
  writeFileSync(join(lockChanged, 'package-lock.json'), readFileSync(join(lockChanged, 'package-lock.json'), 'utf8') + '\n');
  const c = await runner.run(lockChanged, plan);
  assert.equal(c.passed, true, JSON.stringify(c, null, 2));
  assert.equal(c.steps[0].reused, undefined, 'a changed lockfile is installed afresh');

  const pkgChanged = worktree(repo, home, 'c5');
  const pkg = JSON.parse(readFileSync(join(pkgChanged, 'package.json'), 'utf8'));
  writeFileSync(join(pkgChanged, 'package.json'), JSON.stringify({ ...pkg, description: 'changed' }, null, 2));
  const d = await runner.run(pkgChanged, plan);
  assert.equal(d.steps[0].reused, undefined, 'a changed package.json is installed afresh');
  assert.equal(readdirSync(sharedDepsDir(home)).length, 3);
});

test('a shared install is never emptied through a leftover link by a later npm ci', async () => {
  const repo = projectWithDependency();
  const home = tempDir();
  const runner = createGateRunner({ home, env });
  const dir = worktree(repo, home, 'c1');
  const plan = await planGate(dir, undefined);
  assert.equal((await runner.run(dir, plan)).passed, true);
  const [key] = readdirSync(sharedDepsDir(home));
  const sharedModules = join(sharedDepsDir(home), key, 'node_modules');
  const sharedDep = join(sharedModules, 'foreman-fixture-dep');
  // A link left behind (a gate killed before its cleanup), then a gate with another key: npm ci
  // empties the node_modules it finds, so it must find none rather than the shared one.
  symlinkSync(sharedModules, join(dir, 'node_modules'), 'dir');
  const again = await runner.run(dir, { ...plan, setup: 'npm ci --no-audit' });
  assert.equal(again.passed, true, JSON.stringify(again, null, 2));
  assert.equal(again.steps[0].reused, undefined);
  assert.ok(existsSync(sharedDep), 'the first shared install is intact');
  assert.equal(readdirSync(sharedDepsDir(home)).length, 2);
});

// ---- planning ------------------------------------------------------------------------------

const pkg = (value: object): string => JSON.stringify(value);

test('detection: the package manager from the lockfile, build and test from the scripts', async () => {
  const scripts = { build: 'tsc', test: 'vitest run' };
  const cases: Array<[Record<string, string>, Partial<GatePlan>]> = [
    [{ 'package.json': pkg({ scripts }), 'package-lock.json': '{}' }, { setup: 'npm ci', build: 'npm run build', test: 'npm test', ecosystem: 'npm' }],
    [{ 'package.json': pkg({ scripts }), 'npm-shrinkwrap.json': '{}' }, { setup: 'npm ci', build: 'npm run build', test: 'npm test', ecosystem: 'npm' }],
    [{ 'package.json': pkg({ scripts }), 'pnpm-lock.yaml': 'lockfileVersion: 9\n' }, { setup: 'pnpm install --frozen-lockfile', build: 'pnpm run build', test: 'pnpm test', ecosystem: 'pnpm' }],
    [{ 'package.json': pkg({ scripts }), 'yarn.lock': '# yarn\n' }, { setup: 'yarn install --frozen-lockfile', build: 'yarn run build', test: 'yarn test', ecosystem: 'yarn' }],
    [{ 'package.json': pkg({ scripts: { test: 'node --test' } }) }, { test: 'npm test', ecosystem: 'npm' }],
    [{ 'package.json': pkg({ scripts: { test: 'jest' }, devDependencies: { jest: '^30' } }) }, { setup: 'npm install', test: 'npm test', ecosystem: 'npm' }],
    [{ 'package.json': pkg({ packageManager: 'pnpm@10.1.0', scripts: { test: 'vitest' }, dependencies: { a: '1' } }) }, { setup: 'pnpm install', test: 'pnpm test', ecosystem: 'pnpm' }],
    [{ 'package.json': '{ not json', 'package-lock.json': '{}' }, { setup: 'npm ci', test: 'npm test', ecosystem: 'npm' }],
    [{ 'package.json': pkg({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }), Makefile: 'all:\n\techo\n\ntest: all\n\t./run-tests\n' }, { test: 'make test', ecosystem: 'npm' }],
    [{ Makefile: '.PHONY: test\nbuild:\n\tcc x.c\ntest:\n\t./t\n' }, { test: 'make test', ecosystem: 'make' }],
    [{ 'Cargo.toml': '[package]\nname = "x"\n' }, { build: 'cargo build', test: 'cargo test', ecosystem: 'cargo' }],
    [{ 'go.mod': 'module example.com/x\n' }, { build: 'go build ./...', test: 'go test ./...', ecosystem: 'go' }],
    [{ 'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "-q"\n' }, { test: 'python -m pytest', ecosystem: 'python' }],
    [{ 'setup.cfg': '[tool:pytest]\n' }, { test: 'python -m pytest', ecosystem: 'python' }],
    [{ 'pytest.ini': '[pytest]\n' }, { test: 'python -m pytest', ecosystem: 'python' }],
    [{ 'tests/unit/test_parse.py': 'def test_x(): pass\n', 'x.py': '' }, { test: 'python -m pytest', ecosystem: 'python' }],
  ];
  for (const [files, expected] of cases) {
    const repo = makeRepo(files);
    assert.deepEqual(await planGate(repo, undefined), { source: 'detected', ...expected }, JSON.stringify(files));
  }
});

test('the config wins, and a configured gate without setup still installs the detected dependencies', async () => {
  const repo = makeRepo({ 'package.json': pkg({ scripts: { test: 'jest' } }), 'package-lock.json': '{}' });
  assert.deepEqual(await planGate(repo, { test: 'make check', build: 'make' }), { setup: 'npm ci', build: 'make', test: 'make check', source: 'config', ecosystem: 'npm' });
  assert.deepEqual(await planGate(repo, { setup: 'npm install --ignore-scripts', test: 'npm test' }), { setup: 'npm install --ignore-scripts', test: 'npm test', source: 'config', ecosystem: 'npm' });
  const empty = makeRepo({ 'README.md': 'x\n' });
  assert.deepEqual(await planGate(empty, { test: './check.sh' }), { test: './check.sh', source: 'config', ecosystem: null });
});

test('no test command: GateConfigError says what was looked for and shows gate.test in .github/foreman.yml', async () => {
  const cases: Array<Record<string, string>> = [
    { 'README.md': 'nothing to test\n' },
    { 'package.json': pkg({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }) },
    { Makefile: 'test := yes\nall:\n\techo $(test)\n' },
    { 'tests/helper.py': '' },
  ];
  for (const files of cases) {
    const repo = makeRepo(files);
    await assert.rejects(planGate(repo, undefined), (error: unknown) => {
      assert.ok(error instanceof GateConfigError, String(error));
      assert.match(error.message, /no test command found/);
      assert.match(error.message, /package\.json.*Makefile.*Cargo\.toml, go\.mod.*pytest/);
      assert.match(error.message, /\.github\/foreman\.yml/);
      assert.match(error.message, /gate:\n {2}setup: npm ci.*\n.*\n {2}test: npm test/);
      return true;
    }, JSON.stringify(files));
  }
});

test('the gate is split by job: planning, slots and shared dependencies run no step of their own', async () => {
  const parts = ['plan', 'slots', 'shared-dependencies', 'run'];
  const sources = Object.fromEntries(parts.map((part) => [part, readFileSync(new URL(`../src/workspace/gate/${part}.ts`, import.meta.url), 'utf8')]));
  // Only the run starts the steps and holds the slots; planning reads files and runs nothing.
  assert.doesNotMatch(sources.plan, /command\.ts|semaphore|spawn/);
  assert.doesNotMatch(sources['shared-dependencies'], /createGateRunner|GateSlots/);
  assert.match(sources.run, /from '\.\/plan\.ts'/);
  const plan = await import('../src/workspace/gate/plan.ts');
  assert.equal(plan.planGate, planGate);
});
