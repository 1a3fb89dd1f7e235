import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnvironment, runProcess } from '../src/workspace/command.ts';
import { CommandSyntaxError, isCommandAllowed, parseCommandLine, parseCommandPattern } from '../src/config/command-line.ts';
import { tempDir } from './support/repo.ts';

// ---- parsing -------------------------------------------------------------------------------

test('command lines split like a shell would split them, quotes included', () => {
  assert.deepEqual(parseCommandLine('npm test'), ['npm', 'test']);
  assert.deepEqual(parseCommandLine(`npx eslint "src/a b.ts" 'it''s' --rule=x\\ y`), ['npx', 'eslint', 'src/a b.ts', 'its', '--rule=x y']);
  assert.deepEqual(parseCommandLine(`grep -r '$HOME' '*.ts' "a|b"`), ['grep', '-r', '$HOME', '*.ts', 'a|b']);
  assert.deepEqual(parseCommandLine('node --test --test-name-pattern= ""'), ['node', '--test', '--test-name-pattern=', '']);
  assert.deepEqual(parseCommandLine('npm test FOO=1'), ['npm', 'test', 'FOO=1']);
});

test('shell syntax is refused with the problem and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['npm test | tee log', /'\|' is a shell operator.*run one program per command, or put the steps in a script/],
    ['npm ci && npm test', /'&&' is a shell operator/],
    ['npm ci; npm test', /';' is a shell operator/],
    ['npm test > out.txt', /'>' is a shell operator/],
    ['npm test < in.txt', /'<' is a shell operator/],
    ['npm test 2>&1', /'>&' is a shell operator/],
    ['npm test &', /'&' is a shell operator/],
    ['npx eslint src/*.ts', /src\/\*\.ts is a glob.*name the files, or quote the pattern/],
    ['echo $(whoami)', /'\$' starts a command substitution.*run the inner command separately/],
    ['echo "$(whoami)"', /'\$' starts a command substitution/],
    ['echo `whoami`', /backticks are command substitution.*single quotes/],
    ['echo "`whoami`"', /backticks are command substitution/],
    ['echo $HOME', /\$HOME is a variable.*write the value itself/],
    ['echo "${HOME}/x"', /\$HOME is a variable/],
    ['NODE_ENV=test npm test', /starts with the assignment NODE_ENV=test.*drop it, or set the variable in the script/],
    ['npm test # all of them', /'#' starts a comment.*put '#' in quotes/],
    ['   ', /is empty: give a program and its arguments/],
    ['npm test "unclosed', /has an unclosed double quote; close it/],
    ["echo 'it", /has an unclosed single quote/],
  ];
  for (const [line, message] of cases) {
    assert.throws(() => parseCommandLine(line), (error: unknown) => {
      assert.ok(error instanceof CommandSyntaxError, `${line}: ${String(error)}`);
      assert.match(error.message, message, line);
      return true;
    });
  }
  // Literal in single quotes: a shell would not expand these either.
  assert.deepEqual(parseCommandLine("echo '`x`' '$(y)'"), ['echo', '`x`', '$(y)']);
});

// ---- matching ------------------------------------------------------------------------------

test('allow-list patterns: exact words, * for one argument, a final ** for any remaining', () => {
  const allowed = ['npm test', 'npx eslint **', 'node --test *', 'make'];
  assert.equal(isCommandAllowed(['npm', 'test'], allowed), true);
  assert.equal(isCommandAllowed(['npm', 'test', '--', '--watch'], allowed), false, 'longer argv than a pattern without **');
  assert.equal(isCommandAllowed(['npm'], allowed), false, 'shorter argv');
  assert.equal(isCommandAllowed(['npm', 'install'], allowed), false, 'different argument');
  assert.equal(isCommandAllowed(['npx', 'eslint'], allowed), true, '** matches zero arguments');
  assert.equal(isCommandAllowed(['npx', 'eslint', 'src', '--fix'], allowed), true);
  assert.equal(isCommandAllowed(['npx', 'prettier', 'src'], allowed), false);
  assert.equal(isCommandAllowed(['node', '--test', 'test/a.test.ts'], allowed), true);
  assert.equal(isCommandAllowed(['node', '--test'], allowed), false, '* needs exactly one argument');
  assert.equal(isCommandAllowed(['node', '--test', 'a', 'b'], allowed), false);
  assert.equal(isCommandAllowed(['make'], allowed), true);
  assert.equal(isCommandAllowed(['/usr/bin/make'], allowed), false, 'the program is compared as written, not resolved');
  assert.equal(isCommandAllowed(['pnpm', 'test'], allowed), false, 'a different program');
  assert.equal(isCommandAllowed(['npm', 'test'], []), false, 'nothing is allowed by default');
});

test('patterns parse like commands; a bad pattern matches nothing and parseCommandPattern says why', () => {
  assert.deepEqual(parseCommandPattern('npx eslint "a b" **'), ['npx', 'eslint', 'a b', '**']);
  assert.throws(() => parseCommandPattern('npx ** eslint'), /'\*\*' \(any remaining arguments\) may only be the last word/);
  assert.throws(() => parseCommandPattern('npm test | cat'), CommandSyntaxError);
  assert.equal(isCommandAllowed(['npx', 'x', 'eslint'], ['npx ** eslint']), false);
  assert.equal(isCommandAllowed(['npm', 'test'], ['npm test | cat', 'npm test']), true);
});

// ---- environment ---------------------------------------------------------------------------

test('cleanEnvironment removes every secret family and keeps the rest', () => {
  const secrets = {
    ANTHROPIC_API_KEY: 'x', ANTHROPIC_BASE_URL: 'x', GITHUB_TOKEN: 'x', GITHUB_APP_PRIVATE_KEY: 'x', ACTIONS_RUNTIME_TOKEN: 'x', ACTIONS_ID_TOKEN_REQUEST_URL: 'x',
    'INPUT_ANTHROPIC-API-KEY': 'x', GH_TOKEN: 'x', MY_SERVICE_TOKEN: 'x', db_password: 'x', MYSQL_PWD: 'x', LDAP_PASSWD: 'x', stripe_secret: 'x', OPENAI_API_KEY: 'x',
    SENTRY_APIKEY: 'x', SSH_PRIVATE_KEY: 'x', GOOGLE_APPLICATION_CREDENTIALS: 'x', DOCKER_CREDENTIALS: 'x', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x',
    AWS_SESSION_TOKEN: 'x', NPM_TOKEN: 'x', NODE_AUTH_TOKEN: 'x', npm_config__auth: 'x', 'npm_config_//registry.npmjs.org/:_authToken': 'x', SSH_AUTH_SOCK: 'x',
    SIGNING_KEY: 'x', AZURE_CLIENT_SECRET: 'x',
  };
  const kept = { PATH: '/usr/bin:/bin', HOME: '/home/u', LANG: 'C.UTF-8', TMPDIR: '/tmp', PWD: '/w', OLDPWD: '/v', AUTHOR: 'me', NODE_OPTIONS: '--max-old-space-size=4096', TERM: 'xterm', KEYBOARD: 'us' };
  const input = { ...secrets, ...kept };
  const clean = cleanEnvironment(input);
  for (const name of Object.keys(secrets)) assert.equal(clean[name], undefined, `${name} should be removed`);
  for (const [name, value] of Object.entries(kept)) assert.equal(clean[name], value, `${name} should be kept`);
  assert.equal(clean.CI, '1');
  assert.equal((input as Record<string, string>).GITHUB_TOKEN, 'x', 'the input is not modified');
  assert.equal(cleanEnvironment({ CI: 'true' }).CI, 'true', 'an existing CI is kept');
  assert.equal(cleanEnvironment({ NODE_TEST_CONTEXT: 'child-v8' }).NODE_TEST_CONTEXT, undefined, "a project's node --test must not report to Foreman's own test runner");
});

// ---- running -------------------------------------------------------------------------------

const env = cleanEnvironment(process.env);
const node = process.execPath;

test('runProcess reports the exit code and interleaves stdout and stderr', async () => {
  const result = await runProcess([node, '-e', 'console.log("out"); console.error("err"); process.exit(3)'], { cwd: tempDir(), env, timeoutMs: 10_000 });
  assert.equal(result.exitCode, 3);
  assert.equal(result.signal, null);
  assert.equal(result.timedOut, false);
  assert.match(result.output, /out/);
  assert.match(result.output, /err/);
  assert.ok(result.durationMs >= 0);
});

test('runProcess runs in cwd with exactly the environment it is given, and no shell', async () => {
  const cwd = tempDir();
  const result = await runProcess([node, '-e', 'console.log(process.cwd(), process.env.ONLY_THIS, process.env.GITHUB_TOKEN ?? "none", process.argv[1])', '$HOME;x'], { cwd, env: { ...cleanEnvironment({ ...process.env, GITHUB_TOKEN: 'leak' }), ONLY_THIS: 'yes' }, timeoutMs: 10_000 });
  assert.equal(result.exitCode, 0, result.output);
  assert.equal(result.output.trim(), `${cwd} yes none $HOME;x`);
});

test('runProcess keeps the tail of long output and says how much was cut', async () => {
  const script = 'for (let i = 0; i < 20000; i++) process.stdout.write("line " + i + "\\n"); process.stdout.write("THE END\\n")';
  const result = await runProcess([node, '-e', script], { cwd: tempDir(), env, timeoutMs: 10_000, maxOutputChars: 1000 });
  assert.equal(result.exitCode, 0);
  assert.match(result.output, /^\[… \d+ earlier characters of output cut …\]\n/);
  assert.match(result.output, /line 19999\nTHE END\n$/);
  assert.doesNotMatch(result.output, /line 0\n/);
  const marker = result.output.indexOf('\n') + 1;
  assert.equal(result.output.length - marker, 1000);
});

function alive(pid: number): boolean {
  try {
    // A zombie (killed but not reaped by a container's init) counts as dead.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

test('a timeout kills the whole process group, grandchildren included', async () => {
  const dir = tempDir();
  const pidFile = join(dir, 'pid');
  const started = Date.now();
  const result = await runProcess(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], { cwd: dir, env, timeoutMs: 500 });
  assert.ok(Date.now() - started < 10_000, 'returned long before sleep 30 would end');
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.signal, 'SIGTERM');
  assert.match(result.output, /timed out after 500 ms.*raise the timeout/);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(grandchild > 0);
  assert.equal(await waitUntil(() => !alive(grandchild), 3000), true, 'the background sleep was killed with its parent');
});

test('a program that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
  const result = await runProcess([node, '-e', 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'], { cwd: tempDir(), env, timeoutMs: 500 });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(result.durationMs < 6000, `took ${result.durationMs} ms`);
});

test('processes left running after the program exits do not hold the step open', async () => {
  const dir = tempDir();
  const started = Date.now();
  const result = await runProcess(['sh', '-c', 'sleep 30 & echo $!'], { cwd: dir, env, timeoutMs: 20_000 });
  assert.equal(result.exitCode, 0);
  assert.ok(Date.now() - started < 5000);
  const leftover = Number(result.output.trim());
  assert.equal(await waitUntil(() => !alive(leftover), 3000), true, 'the background sleep was ended');
});

test('a program that does not exist resolves with 127 and says how to fix it', async () => {
  const result = await runProcess(['foreman-no-such-program', '--version'], { cwd: tempDir(), env, timeoutMs: 10_000 });
  assert.equal(result.exitCode, 127);
  assert.equal(result.timedOut, false);
  assert.match(result.output, /foreman-no-such-program: program not found.*install it .*or change the command/);
});

test('aborting stops the process group; an already aborted signal starts nothing', async () => {
  const dir = tempDir();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const pidFile = join(dir, 'pid');
  const result = await runProcess(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], { cwd: dir, env, timeoutMs: 60_000, signal: controller.signal });
  assert.equal(result.timedOut, false);
  assert.equal(result.exitCode, null);
  assert.match(result.output, /stopped/);
  assert.ok(result.durationMs < 5000);
  assert.equal(await waitUntil(() => !alive(Number(readFileSync(pidFile, 'utf8'))), 3000), true);

  const marker = join(dir, 'ran');
  const never = await runProcess(['touch', marker], { cwd: dir, env, timeoutMs: 10_000, signal: AbortSignal.abort() });
  assert.equal(never.exitCode, null);
  assert.match(never.output, /was not started/);
  assert.throws(() => readFileSync(marker));
});

test('cleanEnvironment keeps the CA bundles a TLS-intercepting network needs, though a vendor-prefixed copy is removed', () => {
  const bundle = '/etc/ssl/certs/corporate-ca.pem';
  const clean = cleanEnvironment({ AWS_CA_BUNDLE: bundle, NODE_EXTRA_CA_CERTS: bundle, SSL_CERT_FILE: bundle, GITHUB_TOKEN: 'ghs_0123456789abcdef', COPY: 'x ghs_0123456789abcdef' });
  assert.equal(clean.AWS_CA_BUNDLE, undefined, 'the vendor prefix still removes the variable');
  assert.equal(clean.NODE_EXTRA_CA_CERTS, bundle, 'without it npm cannot reach the registry behind such a proxy');
  assert.equal(clean.SSL_CERT_FILE, bundle);
  assert.equal(clean.COPY, undefined, 'a copy of a token is still removed');
});
