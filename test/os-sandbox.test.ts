// The OS sandbox around repository code, driven with real bubblewrap and real processes: a
// hostile repository's gate steps try to reach past it, and every attempt fails inside while
// the run goes on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createGateRunner, type GatePlan } from '../src/workspace/gate.ts';
import { runProcess } from '../src/workspace/command.ts';
import { detectSandbox, sandboxMessage, type SandboxUnavailable } from '../src/workspace/sandbox.ts';
import { egressAddress, isHostAllowed, isInternalAddress } from '../src/workspace/sandbox-network.ts';
import { gitIn, makeRepo, tempDir, writeFiles } from './support/repo.ts';
import { runCli, startCli } from './support/cli.ts';
import { startFakeAnthropic, text, toolUse } from './support/fake-anthropic.ts';
import { ATTEMPTS, countingListener, PROBE_SCRIPT, probeResults, type ProbeTargets } from './support/hostile.ts';

const sandbox = detectSandbox();
if (sandbox.kind !== 'bwrap') {
  throw new Error(`these tests need the sandbox: ${sandbox.kind === 'unavailable' ? sandboxMessage(sandbox) : 'off'} (.ci/run installs bubblewrap)`);
}

// Foreman's own environment carries this; no process inside may find it anywhere.
const MARKER = `FOREMAN_SANDBOX_TEST_MARKER_${process.pid}`;
process.env.FOREMAN_SANDBOX_TEST_SECRET = MARKER;

const listener = await countingListener();
after(() => listener.server.close());

/** A Foreman home with a secret file and another repository's clone, and a worktree of a hostile repo. */
function hostileSetup(extra: Record<string, string> = {}) {
  const repo = makeRepo({ 'probe.cjs': PROBE_SCRIPT, ...extra });
  const home = tempDir('foreman-home-');
  writeFiles(home, { 'foreman.db': 'the store', 'clones/other/secret.txt': 'another repository' });
  const dir = join(home, 'worktrees', 'run-1', 'c1');
  gitIn(repo, 'worktree', 'add', '--detach', '--quiet', dir, 'HEAD');
  const outside = join(tempDir('foreman-outside-'), 'planted.txt');
  const targets: ProbeTargets = {
    marker: MARKER,
    foremanPid: process.pid,
    homeFile: join(home, 'foreman.db'),
    otherCloneFile: join(home, 'clones/other/secret.txt'),
    sshDir: join(homedir(), '.ssh'),
    outsideFile: outside,
    commonGitDir: join(repo, '.git'),
    port: listener.port,
  };
  return { repo, home, dir, targets };
}

function assertAllBlocked(output: string, targets: ProbeTargets, repo: string): void {
  const results = probeResults(output);
  for (const name of ATTEMPTS) assert.match(results[name] ?? 'missing', /^blocked: /, `${name}: ${results[name]}\n${output}`);
  assert.ok(!results.pids.includes(String(process.pid)), "Foreman's process is not visible");
  assert.ok(results.pids.length <= 6, `only the sandbox's own processes are listed: ${results.pids.join(' ')}`);
  assert.ok(results.ppid <= 1, `the parent is the sandbox's init, not Foreman (ppid ${results.ppid})`);
  assert.equal(existsSync(targets.outsideFile), false, 'nothing was written outside the worktree');
  assert.equal(existsSync(join(repo, '.git/hooks/post-checkout')), false, 'no hook was planted in the shared git dir');
  assert.doesNotMatch(readFileSync(join(repo, '.git/config'), 'utf8'), /hooksPath/);
  assert.equal(listener.connections(), 0, 'the listener on 127.0.0.1 got no connection');
}

test('a hostile gate test reaches nothing outside its worktree, and the gate goes on', async () => {
  const { repo, home, dir, targets } = hostileSetup();
  const runner = createGateRunner({ home, env: process.env });
  const plan: GatePlan = { test: `node probe.cjs ${JSON.stringify(JSON.stringify(targets))}`, source: 'config', ecosystem: null };
  const result = await runner.run(dir, plan);
  assert.equal(result.passed, true, result.steps.map((s) => s.output).join('\n'));
  assertAllBlocked(result.steps[0].output, targets, repo);
  assert.equal(readFileSync(join(dir, 'written-inside.txt'), 'utf8'), 'ok', 'the worktree itself is writable');
  assert.equal(gitIn(repo, 'status', '--porcelain'), '', "the user's repository is unchanged");
});

test("a step cannot widen the next step's sandbox: the .git file stays as Foreman wrote it, and a node_modules link elsewhere is not followed", async () => {
  const { home, dir, targets } = hostileSetup({
    // The build step tries to point the worktree's .git at the root, and node_modules at it too.
    'widen.cjs': "const fs = require('fs'); const r = []; try { fs.writeFileSync('.git', 'gitdir: /\\n'); r.push('git-file: written'); } catch (e) { r.push('git-file: blocked: ' + e.code); } try { fs.rmSync('node_modules', { recursive: true, force: true }); fs.symlinkSync('/', 'node_modules'); r.push('link: made'); } catch (e) { r.push('link: blocked: ' + e.code); } console.log(r.join('\\n'));",
    // The test step then looks for what a wider sandbox would show.
    'look.cjs': "const fs = require('fs'); for (const f of process.argv.slice(2)) { try { fs.readFileSync(f); console.log('read: ' + f); } catch (e) { console.log('blocked: ' + f + ' ' + e.code); } } try { fs.readdirSync('node_modules/' + process.argv[2].slice(1)); console.log('through the link'); } catch (e) { console.log('link blocked: ' + e.code); }",
  });
  const runner = createGateRunner({ home, env: process.env });
  const plan: GatePlan = { build: 'node widen.cjs', test: `node look.cjs ${targets.homeFile} ${targets.otherCloneFile}`, source: 'config', ecosystem: null };
  const result = await runner.run(dir, plan);
  const [build, look] = result.steps.map((step) => step.output);
  assert.match(build, /git-file: blocked: /, build);
  assert.match(readFileSync(join(dir, '.git'), 'utf8'), /^gitdir: .*worktrees/, 'the .git file is as git wrote it');
  assert.doesNotMatch(look, /^read: |through the link/m, look);
  assert.match(look, /link blocked: ENOENT/, 'the link to / leads nowhere inside');
});

// socat forwards where it is installed (CI installs it), the Node Foreman runs on where it is not.
for (const forwarder of ['socat', 'node'] as const) {
test(`the setup step reaches an allowed registry on loopback and nothing else; a refusal names sandbox.network (${forwarder} forwarder)`, async () => {
  const hits = { registry: 0, other: 0 };
  const registry = createServer((_req, res) => {
    hits.registry += 1;
    res.end('{"name":"left-pad"}');
  });
  const other = createServer((_req, res) => {
    hits.other += 1;
    res.end('secret');
  });
  await Promise.all([registry, other].map((s) => new Promise<void>((done) => s.listen(0, '127.0.0.1', () => done()))));
  const port = (s: typeof registry): number => (s.address() as { port: number }).port;
  try {
    const install = String.raw`
      const get = (url) => fetch(url).then(async (r) => r.status + ' ' + (await r.text()), (e) => 'failed ' + (e.cause?.code ?? e.message));
      const net = require('node:net');
      (async () => {
        console.log('registry: ' + await get(process.argv[2]));
        console.log('other: ' + await get(process.argv[3]));
        console.log('public: ' + await get('https://example.com/'));
        await new Promise((done) => net.connect(Number(process.argv[4]), '127.0.0.1').on('connect', () => { console.log('direct: connected'); done(); }).on('error', (e) => { console.log('direct: ' + e.code); done(); }));
        process.exit(1);
      })();`;
    const { home, dir } = hostileSetup({ 'install.cjs': install });
    const found = detectSandbox({ hide: [home] });
    assert.equal(found.kind, 'bwrap');
    if (forwarder === 'socat') assert.ok(found.socat, 'socat is installed (.ci/run installs it from Debian)');
    const sandbox = forwarder === 'socat' ? found : { ...found, socat: null };
    const runner = createGateRunner({ home, env: process.env, sandbox, network: [`127.0.0.1:${port(registry)}`] });
    const plan: GatePlan = { setup: `node install.cjs http://127.0.0.1:${port(registry)}/left-pad http://127.0.0.1:${port(other)}/ ${port(other)}`, test: 'true', source: 'config', ecosystem: null };
    const started = performance.now();
    const result = await runner.run(dir, plan);
    const output = result.steps[0].output;
    assert.match(output, /^registry: 200 \{"name":"left-pad"\}$/m, output);
    assert.match(output, /^other: failed/m, output);
    assert.match(output, /^public: failed/m, output);
    assert.match(output, /^direct: ECONNREFUSED$/m, output);
    assert.match(output, /refused a connection to .*127\.0\.0\.1:\d+.*example\.com:443.*sandbox\.network/s);
    assert.deepEqual(hits, { registry: 1, other: 0 });
    assert.ok(performance.now() - started < 10_000, 'refusals fail fast');
    const missing = await runner.run(dir, { setup: 'no-such-installer --frozen', test: 'true', source: 'config', ecosystem: null });
    assert.equal(missing.steps[0].exitCode, 127);
    assert.match(missing.steps[0].output, /^no-such-installer: program not found \(not on PATH and not a file\)/);
  } finally {
    registry.close();
    other.close();
  }
});
}

test('a name in sandbox.network never leads into this machine or its network; the link-local range is refused even written literally', async () => {
  assert.match((await egressAddress('localhost') as { refused: string }).refused, /resolves to (127\.0\.0\.1|::1), inside this machine's network/);
  assert.match((await egressAddress('169.254.169.254') as { refused: string }).refused, /link-local/);
  assert.match((await egressAddress('[fe80::1]') as { refused: string }).refused, /link-local/);
  assert.deepEqual(await egressAddress('127.0.0.1'), { address: '127.0.0.1' }, 'an address written literally is the maintainer\'s choice');
  assert.match((await egressAddress('no-such-host.invalid') as { refused: string }).refused, /does not resolve/);
});

test('public addresses are not internal, so an allowed registry is reached; this machine, private networks and mapped forms of them are', () => {
  for (const address of ['8.8.8.8', '104.16.0.35', '203.0.113.80', '2606:4700::6810:1', '::ffff:8.8.8.8']) assert.equal(isInternalAddress(address), false, address);
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254']) {
    assert.equal(isInternalAddress(address), true, address);
  }
});

test('build and test steps have no network at all', async () => {
  const { home, dir } = hostileSetup({ 'net.cjs': `require('node:net').connect(${listener.port}, '127.0.0.1').on('error', (e) => { console.log(e.code); process.exit(1); }).on('connect', () => process.exit(0));` });
  const result = await createGateRunner({ home, env: process.env }).run(dir, { test: 'node net.cjs', source: 'config', ecosystem: null });
  assert.equal(result.passed, false);
  assert.match(result.steps[0].output, /ECONNREFUSED[\s\S]*the test step has no network; only the setup step may reach the hosts in sandbox\.network/);
  assert.equal(listener.connections(), 0);
});

test('a fork bomb and a memory hog in a test script are stopped, and Foreman goes on gating', async () => {
  const { home, dir } = hostileSetup({
    'bomb.sh': 'while true; do sleep 60 & done\n',
    'hog.cjs': 'const held = []; for (;;) held.push(Buffer.alloc(16 * 1024 * 1024, 1));\n',
  });
  const tight = detectSandbox({ hide: [home], limits: { processes: 64, memoryMb: 256 } });
  const runner = createGateRunner({ home, env: process.env, sandbox: tight, timeoutMs: 60_000 });
  const started = performance.now();
  const bomb = await runner.run(dir, { test: 'sh bomb.sh', source: 'config', ecosystem: null });
  assert.equal(bomb.passed, false);
  assert.match(bomb.steps[0].output, /stopped by the sandbox: sh and its child processes were killed because it started more than 64 processes/);
  const hog = await runner.run(dir, { test: 'node hog.cjs', source: 'config', ecosystem: null });
  assert.equal(hog.passed, false);
  assert.match(hog.steps[0].output, /killed because its processes used more than 256 MB of memory/);
  assert.ok(performance.now() - started < 20_000, 'stopped long before the timeout');
  const after = await runner.run(dir, { test: 'node -e 0', source: 'config', ecosystem: null });
  assert.equal(after.passed, true, 'the next gate runs as before');
  // The kernel ends a pid namespace's processes after its init dies, not at once: under load a
  // `sleep` can still be listed for a moment. Gone within seconds, none outlives the sandbox.
  const left = async (): Promise<string> => (await runProcess(['sh', '-c', 'ps -eo args | grep -c "^sleep 60$" || true'], { cwd: dir, env: process.env, timeoutMs: 10_000 })).output.trim();
  let count = await left();
  for (let i = 0; i < 50 && count !== '0'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    count = await left();
  }
  assert.equal(count, '0', "none of the bomb's processes outlived it");
});

test('when the sandbox is unavailable a gate step is refused with the reason and the fix, never run bare', async () => {
  const missing = detectSandbox({ bwrap: join(tempDir(), 'no-bwrap') }) as SandboxUnavailable;
  assert.equal(missing.kind, 'unavailable');
  const { home, dir } = hostileSetup({ 'mark.cjs': "require('node:fs').writeFileSync('ran.txt', 'ran')" });
  const result = await createGateRunner({ home, env: process.env, sandbox: missing }).run(dir, { test: 'node mark.cjs', source: 'config', ecosystem: null });
  assert.equal(result.passed, false);
  assert.match(result.steps[0].output, /node was not run: the sandbox is unavailable: bubblewrap \(.*no-bwrap\) is not installed; install bubblewrap \(Debian\/Ubuntu: sudo apt-get install bubblewrap/);
  assert.equal(existsSync(join(dir, 'ran.txt')), false);
});

test('sandbox.network entries: host (ports 80 and 443), host:port, *.domain', () => {
  const allow = ['registry.npmjs.org', '127.0.0.1:4873', '*.pythonhosted.org'];
  assert.equal(isHostAllowed('registry.npmjs.org', 443, allow), true);
  assert.equal(isHostAllowed('REGISTRY.npmjs.org', 80, allow), true);
  assert.equal(isHostAllowed('registry.npmjs.org', 22, allow), false);
  assert.equal(isHostAllowed('registry.npmjs.org.evil.com', 443, allow), false);
  assert.equal(isHostAllowed('127.0.0.1', 4873, allow), true);
  assert.equal(isHostAllowed('127.0.0.1', 4874, allow), false);
  assert.equal(isHostAllowed('files.pythonhosted.org', 443, allow), true);
  assert.equal(isHostAllowed('pythonhosted.org.evil', 443, allow), false);
});


// ---- run_command, through the real CLI and a hostile scripted model turn ---------------------

test("a hostile agent's run_command reaches nothing outside its worktree, and the run goes on", async () => {
  const fake = await startFakeAnthropic({
    handler: (req) => {
      if (req.turn === 0) {
        const targets = JSON.parse(/TARGETS (\{.*\})/.exec(req.prompt)![1]) as ProbeTargets;
        return [toolUse('run_command', { command: `node probe.cjs '${JSON.stringify(targets)}'` })];
      }
      return [text('done')];
    },
  });
  try {
    const home = tempDir('foreman-user-');
    const foremanHome = join(home, '.foreman');
    writeFiles(home, { '.ssh/id_ed25519': 'PRIVATE KEY', '.foreman/secret.txt': 'store', '.foreman/clones/other/secret.txt': 'another repository' });
    const repo = makeRepo({
      'probe.cjs': PROBE_SCRIPT,
      '.github/foreman.yml': 'agents:\n  commands:\n    - node probe.cjs *\n',
      '.claude/workflows/probe.js': "export const meta = { name: 'probe', description: 'hostile' }\nreturn await change(args, { label: 'probe' })\n",
    });
    const targets: ProbeTargets = {
      marker: MARKER,
      foremanPid: 0,
      homeFile: join(foremanHome, 'secret.txt'),
      otherCloneFile: join(foremanHome, 'clones/other/secret.txt'),
      sshDir: join(home, '.ssh'),
      outsideFile: join(tempDir('foreman-outside-'), 'planted.txt'),
      commonGitDir: join(repo, '.git'),
      port: listener.port,
    };
    const cli = startCli(['run', 'probe', '--repo', repo, '--args', `TARGETS ${JSON.stringify(targets)}`, '--json'], { home, baseURL: fake.url, extra: { FOREMAN_SANDBOX_TEST_SECRET: MARKER } });
    targets.foremanPid = cli.child.pid!;
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    const [probe] = fake.requests.find((r) => r.turn === 1)!.lastToolResults;
    assert.notEqual(probe.is_error, true, probe.content);
    assert.match(probe.content, /^Exit code 0/);
    assertAllBlocked(probe.content, { ...targets, foremanPid: cli.child.pid! }, repo);
    assert.ok(!probeResults(probe.content).pids.includes(String(cli.child.pid)), "the CLI's process is not visible");
  } finally {
    await fake.close();
  }
});

test('foreman doctor says whether the sandbox works, and why not with the fix', async () => {
  const home = tempDir();
  const works = await runCli(['doctor'], { home });
  assert.equal(works.code, 0, works.stderr);
  assert.match(works.stdout, /^sandbox: works/m);
  assert.match(works.stdout, /^setup step forwarder: \/usr\/bin\/socat$/m, 'socat is installed here (.ci/run installs it)');
  const missing = await runCli(['doctor'], { home, extra: { FOREMAN_BWRAP: '/nonexistent/bwrap' } });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /sandbox: unavailable: bubblewrap \(\/nonexistent\/bwrap\) is not installed\n {2}fix: install bubblewrap \(Debian\/Ubuntu: sudo apt-get install bubblewrap/);
});

test('a Foreman killed with SIGKILL mid-gate leaves nothing of the sandbox running', async () => {
  const { home, dir } = hostileSetup({ 'linger.sh': 'setsid sleep 61 &\nsleep 62\n' });
  const gate = new URL('../src/workspace/gate.ts', import.meta.url).href;
  const script = `import { createGateRunner } from ${JSON.stringify(gate)};
    await createGateRunner({ home: ${JSON.stringify(home)}, env: process.env }).run(${JSON.stringify(dir)}, { test: 'sh linger.sh', source: 'config', ecosystem: null });`;
  const foreman = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const sleeping = (): string[] => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => /^sleep 6[12]$/.test(l.trim()));
  for (let i = 0; i < 100 && sleeping().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sleeping().length, 2, 'the gate step and the process it moved out of its group run');
  foreman.kill('SIGKILL');
  for (let i = 0; i < 40 && sleeping().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(sleeping(), [], 'the sandbox died with Foreman, the setsid process too');
});
